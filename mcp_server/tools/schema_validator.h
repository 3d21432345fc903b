// A compiled JSON Schema (valijson, draft-7 keywords; "$schema" is ignored, so the project's
// draft 2020-12 files work as long as they keep to keywords both drafts share) and validation
// that reports each violation with the path of the offending value, phrased for a model that
// has to fix its arguments. Compiling parses once; validating is const and thread-safe.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "engine/base/result.h"

namespace valijson {
class Schema;
}

namespace fapo::mcp {

struct SchemaViolation {
  std::string path;     // "cursor", "edits[2].text"; "" for the value itself
  std::string message;  // valijson's description of the failed constraint
};

class SchemaValidator {
 public:
  // Fails with kInvalidInput when `schema` is not a schema valijson can compile.
  static Result<SchemaValidator> compile(const nlohmann::json& schema);

  // Empty when `value` conforms.
  std::vector<SchemaViolation> validate(const nlohmann::json& value) const;

 private:
  explicit SchemaValidator(std::shared_ptr<const valijson::Schema> schema)
      : schema_(std::move(schema)) {}
  std::shared_ptr<const valijson::Schema> schema_;
};

}  // namespace fapo::mcp
