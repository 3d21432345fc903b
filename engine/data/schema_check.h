// Checking JSON documents against the JSON Schemas of schemas/ (compiled into the binary).
// valijson does the validation; schema_messages turns its terse, nested findings into
// Diagnostics a user can act on: a dotted field path ("steps[2].k") and a plain message ("must
// be at most 50, got 80", "unknown field 'temprature' (did you mean 'temperature'?)").
//
// The schema files declare draft 2020-12 but use only keywords valijson 1.0 implements with
// its draft-7 parser; "$defs" works because valijson resolves "$ref" as a JSON pointer into the
// schema document, whatever the containing keyword is called.
//
// A SchemaChecker is an immutable, cheaply copyable handle: `check` is const and safe to call
// from many threads at once (each call uses its own valijson::Validator, whose regex cache is
// the only mutable state).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "engine/base/diagnostic.h"
#include "engine/base/result.h"

namespace fapo {

class SchemaChecker {
 public:
  // The embedded schema with this file name ("tenant.schema.json"). Compiled once per process
  // and shared. kNotFound for an unknown name; kInternal when the schema itself is broken.
  static Result<SchemaChecker> from_embedded(const std::string& schema_file);

  // A schema given as text (`name` appears in errors). kInvalidInput when it is not JSON or
  // not a schema valijson can compile.
  static Result<SchemaChecker> from_text(const std::string& name, std::string_view schema_text);

  // Every violation of `doc`, each with `file` and `line` (0 for a whole-file document) and the
  // dotted path of the offending field. Empty when the document conforms.
  Diagnostics check(const nlohmann::json& doc, const std::string& file, int line) const;

  const std::string& name() const;
  const nlohmann::json& schema() const;

  // Opaque outside schema_check.cpp: the schema document and valijson's compiled form.
  struct Compiled;

 private:
  explicit SchemaChecker(std::shared_ptr<const Compiled> compiled);

  std::shared_ptr<const Compiled> compiled_;
};

}  // namespace fapo
