#include "engine/data/schema_messages.h"

#include <doctest/doctest.h>

namespace fapo {
namespace {

using nlohmann::json;

const json kSchema = json::parse(R"({
  "type": "object",
  "additionalProperties": false,
  "properties": {
    "items": {"type": "array", "items": {"type": "object", "properties": {"n": {"type": "integer"}}}},
    "either": {"oneOf": [{"type": "string"}, {"type": "integer"}]}
  }
})");

}  // namespace

TEST_CASE("drops summaries that only repeat a nested finding") {
  json doc = {{"items", json::array({{{"n", "x"}}})}};
  std::vector<SchemaFinding> findings = {
      {{"<root>", "[items]", "[0]", "[n]"}, "Value type not permitted by 'type' constraint."},
      {{"<root>", "[items]", "[0]"}, "Failed to validate against schema associated with property name 'n'."},
      {{"<root>", "[items]"}, "Failed to validate item #0 in array."},
      {{"<root>"}, "Failed to validate against schema associated with property name 'items'."}};
  Diagnostics found = explain_schema_findings(kSchema, doc, findings, "f.json", 0);
  REQUIRE(found.size() == 1);
  CHECK(found[0].to_string() == "f.json: field 'items[0].n': must be an integer, got string");
}

TEST_CASE("a oneOf failure without nested findings still says something") {
  json doc = {{"either", "x"}};
  std::vector<SchemaFinding> none = {
      {{"<root>", "[either]"}, "Failed to validate against any child schemas allowed by oneOf constraint."}};
  Diagnostics found = explain_schema_findings(kSchema, doc, none, "f.json", 2);
  REQUIRE(found.size() == 1);
  CHECK(found[0].to_string() == "f.json:2: field 'either': does not match any of the allowed forms");

  std::vector<SchemaFinding> several = {
      {{"<root>", "[either]"}, "Failed to validate against exactly one child schema."}};
  found = explain_schema_findings(kSchema, doc, several, "f.json", 2);
  REQUIRE(found.size() == 1);
  CHECK(found[0].message == "matches more than one of the allowed forms");
}

TEST_CASE("keeps the wording of a finding it does not know, tidied") {
  std::vector<SchemaFinding> findings = {{{"<root>"}, "Something new happened."}};
  Diagnostics found = explain_schema_findings(kSchema, json::object(), findings, "f.json", 0);
  REQUIRE(found.size() == 1);
  CHECK(found[0].message == "something new happened");
}

TEST_CASE("words type mismatches with articles and alternatives") {
  CHECK(wrong_type_message({"string"}, json(3)) == "must be a string, got number");
  CHECK(wrong_type_message({"object"}, json::array()) == "must be an object, got array");
  CHECK(wrong_type_message({"string", "null"}, json(true)) == "must be a string or null, got boolean");
  CHECK(wrong_type_message({"string", "integer", "null"}, json::object()) ==
        "must be a string, an integer or null, got object");
  CHECK(wrong_type_message({"integer"}, json(2.5)) == "must be an integer, got 2.5");
}

TEST_CASE("suggests a field only for a likely typo") {
  std::vector<std::string> known = {"case_id", "context", "expected"};
  CHECK(unknown_field_message("contxt", known) == "unknown field 'contxt' (did you mean 'context'?)");
  CHECK(unknown_field_message("weather", known) == "unknown field 'weather'");
  CHECK(missing_field_message("case_id") == "missing required field 'case_id'");
  CHECK(join_field("", "a") == "a");
  CHECK(join_field("steps[2]", "k") == "steps[2].k");
}

TEST_CASE("a JSON syntax error becomes a diagnostic with line and column") {
  std::string text = "{\n  \"a\": 1,\n  \"b\": tru\n}";
  try {
    json parsed = json::parse(text);
    FAIL("parse should have failed, got " << parsed.dump());
  } catch (const json::parse_error& error) {
    Diagnostic d = json_syntax_diagnostic(error, text, "tenant.json");
    CHECK(d.line == 3);
    CHECK(d.message.find("invalid JSON at column ") == 0);
    CHECK(d.message.find("invalid literal") != std::string::npos);
    CHECK(d.message.find("json.exception") == std::string::npos);
    MESSAGE(d.to_string());
  }
  try {
    json parsed = json::parse(std::string("{\"a\": [1, 2"));
    FAIL("parse should have failed, got " << parsed.dump());
  } catch (const json::parse_error& error) {
    Diagnostic d = json_syntax_diagnostic(error, "{\"a\": [1, 2", "d.jsonl", 40);
    CHECK(d.line == 40);
    MESSAGE(d.to_string());
  }
}

}  // namespace fapo
