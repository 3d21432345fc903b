#include "mcp_server/tools/tool_table.h"

#include <algorithm>
#include <set>

#include "engine/base/strings.h"

namespace fapo::mcp {
namespace {

using nlohmann::json;

Result<json> load_schema(const SchemaFiles& schemas, const std::string& tool,
                         const std::string& file) {
  auto found = schemas.find(file);
  if (found == schemas.end()) {
    return make_error(ErrorCode::kInvalidInput,
                      "tool '" + tool + "': schema file schemas/" + file + " is missing");
  }
  json schema = json::parse(found->second, nullptr, /*allow_exceptions=*/false);
  if (schema.is_discarded() || !schema.is_object()) {
    return make_error(ErrorCode::kInvalidInput,
                      "tool '" + tool + "': schemas/" + file + " is not a JSON object");
  }
  return schema;
}

Result<RegisteredTool> register_tool(ToolSpec spec, const SchemaFiles& schemas) {
  FAPO_ASSIGN_OR_RETURN(json input, load_schema(schemas, spec.name, input_schema_file(spec.name)));
  FAPO_ASSIGN_OR_RETURN(json output,
                        load_schema(schemas, spec.name, output_schema_file(spec.name)));
  if (input.value("type", "") != "object" || output.value("type", "") != "object") {
    return make_error(ErrorCode::kInvalidInput,
                      "tool '" + spec.name + "': input and output schemas must have type object");
  }
  auto input_validator = SchemaValidator::compile(input);
  if (!input_validator.ok()) {
    return input_validator.error().with_context("tool '" + spec.name + "'");
  }
  auto output_validator = SchemaValidator::compile(output);
  if (!output_validator.ok()) {
    return output_validator.error().with_context("tool '" + spec.name + "'");
  }
  return RegisteredTool{std::move(spec), std::move(input), std::move(output),
                        std::move(input_validator).value(), std::move(output_validator).value()};
}

std::string type_of(const json& value) {
  if (value.is_number_integer()) return "integer";
  if (value.is_number()) return "number";
  return value.type_name();
}

// "cursor (string), limit (integer, required)", from the schema's top-level properties.
std::string accepted_arguments(const json& schema) {
  const json properties = schema.value("properties", json::object());
  const json required = schema.value("required", json::array());
  std::vector<std::string> parts;
  for (const auto& [name, property] : properties.items()) {
    std::string part = name;
    std::string type = property.is_object() && property.contains("type")
                           ? property["type"].dump()
                           : std::string();
    type.erase(std::remove(type.begin(), type.end(), '"'), type.end());
    const bool is_required = std::find(required.begin(), required.end(), name) != required.end();
    if (!type.empty() || is_required) {
      part += " (" + type + (is_required ? (type.empty() ? "required" : ", required") : "") + ")";
    }
    parts.push_back(part);
  }
  return parts.empty() ? "none" : join(parts, ", ");
}

// valijson reports a failed property twice: the specific constraint, then a generic
// "Failed to validate against schema associated with property name ..." on its parent.
bool is_generic_wrapper(const SchemaViolation& violation) {
  return starts_with(violation.message, "Failed to validate against schema associated with") ||
         starts_with(violation.message, "Failed to validate item #");
}

// The text between the last pair of single quotes: the property name in valijson's
// "Missing required property 'x'." and "... 'properties' or 'additionalProperties'
// constraints: 'x'."
std::string quoted_name(const std::string& message) {
  const std::size_t close = message.rfind('\'');
  if (close == std::string::npos || close == 0) return std::string();
  const std::size_t open = message.rfind('\'', close - 1);
  if (open == std::string::npos) return std::string();
  return message.substr(open + 1, close - open - 1);
}

std::string describe_object_violation(const SchemaViolation& violation) {
  const std::string prefix = violation.path.empty() ? "" : "in '" + violation.path + "': ";
  const std::string name = quoted_name(violation.message);
  if (starts_with(violation.message, "Object contains a property that could not be validated")) {
    return prefix + "unknown argument '" + name + "'";
  }
  if (starts_with(violation.message, "Missing required property")) {
    return prefix + "missing required argument '" + name + "'";
  }
  return std::string();
}

std::string describe(const SchemaViolation& violation, const json& schema,
                     const json& arguments) {
  if (std::string text = describe_object_violation(violation); !text.empty()) return text;
  if (violation.path.empty()) return violation.message;
  std::string text = "argument '" + violation.path + "': ";
  // A plainer message for the most common mistake, a top-level argument of the wrong type.
  const json* property = nullptr;
  if (auto props = schema.find("properties"); props != schema.end() && props->is_object()) {
    if (auto p = props->find(violation.path); p != props->end()) property = &*p;
  }
  if (property && property->contains("type") && arguments.contains(violation.path) &&
      violation.message.find("'type' constraint") != std::string::npos) {
    std::string expected = (*property)["type"].dump();
    expected.erase(std::remove(expected.begin(), expected.end(), '"'), expected.end());
    return text + "must be " + expected + ", got " + type_of(arguments[violation.path]);
  }
  return text + violation.message;
}

}  // namespace

std::string input_schema_file(std::string_view tool_name) {
  return "tool_" + std::string(tool_name) + ".input.json";
}

std::string output_schema_file(std::string_view tool_name) {
  return "tool_" + std::string(tool_name) + ".output.json";
}

Result<ToolTable> ToolTable::make(std::vector<ToolSpec> specs, const SchemaFiles& schemas) {
  ToolTable table;
  std::set<std::string> seen;
  for (ToolSpec& spec : specs) {
    if (!seen.insert(spec.name).second) {
      return make_error(ErrorCode::kInvalidInput, "two tools are named '" + spec.name + "'");
    }
    FAPO_ASSIGN_OR_RETURN(RegisteredTool tool, register_tool(std::move(spec), schemas));
    table.tools_.push_back(std::move(tool));
  }
  return table;
}

const RegisteredTool* ToolTable::find(std::string_view name) const {
  for (const RegisteredTool& tool : tools_) {
    if (tool.spec.name == name) return &tool;
  }
  return nullptr;
}

std::vector<std::string> ToolTable::names() const {
  std::vector<std::string> names;
  for (const RegisteredTool& tool : tools_) names.push_back(tool.spec.name);
  return names;
}

std::optional<std::string> ToolTable::check_arguments(const RegisteredTool& tool,
                                                      const json& arguments) {
  std::vector<SchemaViolation> violations = tool.input_validator.validate(arguments);
  if (violations.empty()) return std::nullopt;
  const bool has_specific = std::any_of(violations.begin(), violations.end(),
                                        [](const auto& v) { return !is_generic_wrapper(v); });
  std::vector<std::string> lines;
  for (const SchemaViolation& violation : violations) {
    if (has_specific && is_generic_wrapper(violation)) continue;
    std::string line = describe(violation, tool.input_schema, arguments);
    while (!line.empty() && line.back() == '.') line.pop_back();
    if (std::find(lines.begin(), lines.end(), line) == lines.end()) lines.push_back(line);
  }
  return "Invalid arguments for tool '" + tool.spec.name + "': " + join(lines, "; ") +
         ". Accepted arguments: " + accepted_arguments(tool.input_schema) +
         ". Fix the arguments and call " + tool.spec.name + " again.";
}

std::vector<ToolSpec> builtin_tools() {
  std::vector<ToolSpec> tools;
  tools.push_back(make_list_tenants_tool());
  tools.push_back(make_describe_tenant_tool());
  tools.push_back(make_validate_tenant_tool());
  tools.push_back(make_evaluate_tool());
  tools.push_back(make_get_run_tool());
  tools.push_back(make_cancel_run_tool());
  tools.push_back(make_list_cases_tool());
  tools.push_back(make_get_case_tool());
  tools.push_back(make_attribute_tool());
  tools.push_back(make_budget_tool());
  tools.push_back(make_propose_variant_tool());
  tools.push_back(make_get_variant_tool());
  tools.push_back(make_export_variant_tool());
  tools.push_back(make_record_note_tool());
  tools.push_back(make_history_tool());
  tools.push_back(make_review_variant_tool());
  tools.push_back(make_compare_tool());
  tools.push_back(make_final_test_tool());
  return tools;
}

}  // namespace fapo::mcp
