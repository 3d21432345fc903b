// The wording of schema findings. valijson reports a failed constraint as a document path
// (["<root>", "[steps]", "[2]", "[k]"]) and a terse description ("Expected number less than or
// equal to 50.000000"), nested findings followed by summaries that only repeat them. This module
// turns them into Diagnostics with a dotted field path ("steps[2].k") and a plain message quoting
// what the schema allows ("must be at most 50, got 80"), drops the summaries and duplicates,
// and lists every unknown field with a "did you mean".
//
// The message helpers are shared with hand-written checks (the dataset reader applies
// case.schema.json by hand for speed), so both paths word the same finding the same way.
// All functions are pure and thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/base/diagnostic.h"

namespace fapo {

// One finding as the validator reports it.
struct SchemaFinding {
  std::vector<std::string> context;  // "<root>", then "[member]" / "[index]" tokens
  std::string description;
};

// Diagnostics for the findings of validating `doc` against `schema`, in the validator's order.
Diagnostics explain_schema_findings(const nlohmann::json& schema, const nlohmann::json& doc,
                                    const std::vector<SchemaFinding>& findings,
                                    const std::string& file, int line);

// JSON type of a value as JSON Schema names it, except that integers are "number" too:
// "null", "boolean", "number", "string", "array", "object".
std::string json_type_label(const nlohmann::json& value);

// "must be a string, got number"; `expected` holds schema type names ("string", "null", ...).
std::string wrong_type_message(const std::vector<std::string>& expected,
                               const nlohmann::json& value);

// "missing required field 'case_id'"
std::string missing_field_message(std::string_view name);

// "unknown field 'metdata' (did you mean 'metadata'?)"; the hint only for a close match.
std::string unknown_field_message(std::string_view name, const std::vector<std::string>& known);

// A JSON syntax error as a Diagnostic: "<file>:<line>: invalid JSON at column <c>: <reason>".
// Line and column are found from the parser's byte offset into `text`; `first_line` is the
// line of the file on which `text` starts (a JSON-lines reader passes the line it parsed).
Diagnostic json_syntax_diagnostic(const nlohmann::json::parse_error& error, std::string_view text,
                                  const std::string& file, int first_line = 1);

// Appends `key` to a dotted field path: ("", "a") -> "a", ("a", "b") -> "a.b".
std::string join_field(std::string_view path, std::string_view key);

}  // namespace fapo
