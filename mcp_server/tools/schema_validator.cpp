#include "mcp_server/tools/schema_validator.h"

#include <exception>
#include <valijson/adapters/nlohmann_json_adapter.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validation_results.hpp>
#include <valijson/validator.hpp>

namespace fapo::mcp {
namespace {

// valijson names each step of the path as "<root>", "[name]" or "[3]"; this turns that into
// "name[3].field" which is how a model writes it back.
std::string readable_path(const std::vector<std::string>& context) {
  std::string path;
  for (const std::string& step : context) {
    if (step == "<root>" || step.size() < 2 || step.front() != '[' || step.back() != ']') continue;
    const std::string inner = step.substr(1, step.size() - 2);
    const bool is_index =
        !inner.empty() && inner.find_first_not_of("0123456789") == std::string::npos;
    if (is_index) {
      path += "[" + inner + "]";
    } else {
      if (!path.empty()) path += '.';
      path += inner;
    }
  }
  return path;
}

}  // namespace

Result<SchemaValidator> SchemaValidator::compile(const nlohmann::json& schema) {
  try {
    auto compiled = std::make_shared<valijson::Schema>();
    valijson::SchemaParser parser(valijson::SchemaParser::kDraft7);
    valijson::adapters::NlohmannJsonAdapter adapter(schema);
    parser.populateSchema(adapter, *compiled);
    return SchemaValidator(std::move(compiled));
  } catch (const std::exception& e) {
    return make_error(ErrorCode::kInvalidInput, std::string("invalid JSON Schema: ") + e.what());
  }
}

std::vector<SchemaViolation> SchemaValidator::validate(const nlohmann::json& value) const {
  valijson::Validator validator(valijson::Validator::kStrongTypes);
  valijson::ValidationResults results;
  valijson::adapters::NlohmannJsonAdapter adapter(value);
  std::vector<SchemaViolation> violations;
  try {
    if (validator.validate(*schema_, adapter, &results)) return violations;
  } catch (const std::exception& e) {  // e.g. a pattern std::regex cannot compile
    violations.push_back(SchemaViolation{"", std::string("schema check failed: ") + e.what()});
    return violations;
  }
  valijson::ValidationResults::Error error;
  while (results.popError(error)) {
    violations.push_back(SchemaViolation{readable_path(error.context), error.description});
  }
  return violations;
}

}  // namespace fapo::mcp
