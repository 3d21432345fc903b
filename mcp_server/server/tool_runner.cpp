#include "mcp_server/server/tool_runner.h"

#include <spdlog/spdlog.h>

#include <exception>

#include "engine/base/strings.h"
#include "mcp_server/output/cursor.h"
#include "mcp_server/output/sanitize.h"
#include "mcp_server/output/truncate.h"
#include "mcp_server/protocol/mcp_types.h"

namespace fapo::mcp {
namespace {

using nlohmann::json;

constexpr std::size_t kMaxSummaryChars = 2000;
constexpr std::string_view kToolsCursorScope = "tools";

json error_result(std::string_view text) {
  return encode_tool_result(truncate_text(sanitize_text(text), kMaxSummaryChars), nullptr, true);
}

std::string unknown_tool_message(const ToolTable& tools, const std::string& name) {
  std::string message = "Unknown tool '" + truncate_text(sanitize_text(name), 80) + "'.";
  if (auto guess = closest_match(name, tools.names())) message += " Did you mean '" + *guess + "'?";
  return message + " Available tools: " + join(tools.names(), ", ") + ".";
}

ToolResult run_handler(const RegisteredTool& tool, const json& arguments, ToolContext& context) {
  try {
    return tool.spec.handler(arguments, context);
  } catch (const std::exception& e) {
    spdlog::error("tool '{}' threw: {}", tool.spec.name, e.what());
    return ToolResult::failure("Internal error in tool '" + tool.spec.name + "': " + e.what() +
                               ". This is a fault in fapo, not in your arguments; retrying "
                               "is unlikely to help.");
  } catch (...) {
    spdlog::error("tool '{}' threw a non-standard exception", tool.spec.name);
    return ToolResult::failure("Internal error in tool '" + tool.spec.name +
                               "'. This is a fault in fapo, not in your arguments.");
  }
}

}  // namespace

json render_tool_result(const RegisteredTool& tool, ToolResult result,
                        const ToolCallLimits& limits) {
  if (result.is_error) return error_result(result.summary);
  json structured = std::move(result.structured);
  sanitize_json_strings(structured);
  const std::string summary = truncate_text(sanitize_text(result.summary), kMaxSummaryChars);

  // The JSON goes out twice: as structuredContent, and after the summary in the text for
  // clients that show only text content. A client shows the model one of the two, so each
  // copy is held under the budget.
  const std::size_t budget_bytes = limits.token_budget * kCharsPerToken;
  const std::size_t room = budget_bytes > summary.size() + 1024
                               ? budget_bytes - summary.size() - 64  // newline, envelope
                               : budget_bytes / 2;
  if (!shrink_to_fit(structured, room)) {
    return error_result("The result of " + tool.spec.name + " is too large to return (about " +
                        std::to_string(estimate_json_tokens(structured)) +
                        " tokens even with long fields shortened). Ask for a smaller page "
                        "(a lower limit) or a narrower selection.");
  }
  if (auto violations = tool.output_validator.validate(structured); !violations.empty()) {
    spdlog::error("tool '{}' returned content outside its output schema: {} {}", tool.spec.name,
                  violations.front().path, violations.front().message);
    return error_result("Internal error: tool '" + tool.spec.name +
                        "' produced a result that does not match its output schema (" +
                        violations.front().path + ": " + violations.front().message +
                        "). This is a fault in fapo.");
  }
  return encode_tool_result(summary + "\n" + to_wire(structured), structured, false);
}

Reply call_tool(const ToolTable& tools, const json& params, ToolContext& context,
                const ToolCallLimits& limits) {
  auto call = decode_tool_call(params);
  if (!call.ok()) return Reply::failure(kInvalidParams, call.error().message);
  const RegisteredTool* tool = tools.find(call->name);
  if (tool == nullptr) {
    return Reply::failure(kInvalidParams, unknown_tool_message(tools, call->name));
  }
  if (auto problem = ToolTable::check_arguments(*tool, call->arguments)) {
    return Reply::success(error_result(*problem));
  }
  ToolResult result = run_handler(*tool, call->arguments, context);
  return Reply::success(render_tool_result(*tool, std::move(result), limits));
}

Reply list_tools(const ToolTable& tools, const json& params, std::size_t page_size) {
  auto cursor = decode_cursor_param(params);
  if (!cursor.ok()) return Reply::failure(kInvalidParams, cursor.error().message);
  auto page = page_bounds(*cursor, kToolsCursorScope, tools.tools().size(), page_size);
  if (!page.ok()) return Reply::failure(kInvalidParams, page.error().message);
  json listed = json::array();
  for (std::size_t i = page->begin; i < page->end; ++i) {
    const RegisteredTool& tool = tools.tools()[i];
    listed.push_back(
        encode_tool(ToolListing{tool.spec.name, tool.spec.title, tool.spec.description,
                                tool.input_schema, tool.output_schema, tool.spec.hints}));
  }
  return Reply::success(encode_list_result("tools", std::move(listed), page->next_cursor));
}

}  // namespace fapo::mcp
