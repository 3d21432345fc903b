// The table of tools the server offers: each ToolSpec paired with its input and output JSON
// Schemas (schemas/tool_<name>.input.json and .output.json, compiled into the binary) and
// their compiled validators. Built once at start-up, so a missing or broken schema stops the
// server before any client sees it; immutable afterwards and safe to share between threads.
// Adding a tool: write mcp_server/tools/<name>.cpp defining its factory, declare the factory
// below, list it in builtin_tools(), and add its two schema files.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/base/result.h"
#include "mcp_server/tools/schema_validator.h"
#include "mcp_server/tools/tool.h"

namespace fapo::mcp {

struct RegisteredTool {
  ToolSpec spec;
  nlohmann::json input_schema;
  nlohmann::json output_schema;
  SchemaValidator input_validator;
  SchemaValidator output_validator;
};

// Schema file name -> text, as fapo::embedded_schemas() provides them.
using SchemaFiles = std::map<std::string, std::string_view>;

std::string input_schema_file(std::string_view tool_name);   // "tool_<name>.input.json"
std::string output_schema_file(std::string_view tool_name);  // "tool_<name>.output.json"

class ToolTable {
 public:
  // Fails (kInvalidInput) naming the tool and file when a schema is missing, is not JSON, or
  // does not compile, or when two tools share a name.
  static Result<ToolTable> make(std::vector<ToolSpec> specs, const SchemaFiles& schemas);

  const std::vector<RegisteredTool>& tools() const { return tools_; }
  const RegisteredTool* find(std::string_view name) const;
  std::vector<std::string> names() const;

  // nullopt when `arguments` conform to the tool's input schema; otherwise a message for the
  // model naming each offending argument, what was wrong, and the arguments the tool accepts.
  static std::optional<std::string> check_arguments(const RegisteredTool& tool,
                                                    const nlohmann::json& arguments);

 private:
  std::vector<RegisteredTool> tools_;
};

// One factory per tool, each defined in mcp_server/tools/<name>.cpp.
ToolSpec make_list_tenants_tool();
ToolSpec make_describe_tenant_tool();
ToolSpec make_validate_tenant_tool();
ToolSpec make_evaluate_tool();
ToolSpec make_get_run_tool();
ToolSpec make_cancel_run_tool();
ToolSpec make_list_cases_tool();
ToolSpec make_get_case_tool();
ToolSpec make_attribute_tool();
ToolSpec make_budget_tool();
ToolSpec make_propose_variant_tool();
ToolSpec make_get_variant_tool();
ToolSpec make_export_variant_tool();
ToolSpec make_record_note_tool();
ToolSpec make_history_tool();
ToolSpec make_review_variant_tool();
ToolSpec make_compare_tool();
ToolSpec make_final_test_tool();

// Every tool fapo offers, in the order tools/list shows them.
std::vector<ToolSpec> builtin_tools();

}  // namespace fapo::mcp
