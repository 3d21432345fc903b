// tools/call from decoded params to the result the client sees: finds the tool, checks the
// arguments against its input schema (a violation is a tool result with isError and text that
// names the argument, so the model can correct itself; an unknown tool is a protocol error),
// runs the handler with every exception turned into an error result, sanitises the text,
// checks the structured content against the output schema, and holds the result under the
// token budget. Also the tools/list page. Stateless functions; thread-safe as the tools are.
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "mcp_server/protocol/json_rpc.h"
#include "mcp_server/tools/tool.h"
#include "mcp_server/tools/tool_table.h"

namespace fapo::mcp {

struct ToolCallLimits {
  std::size_t token_budget;  // the model-visible text and structured content each stay under it
};

Reply call_tool(const ToolTable& tools, const nlohmann::json& params, ToolContext& context,
                const ToolCallLimits& limits);

// The result object of tools/list for one page.
Reply list_tools(const ToolTable& tools, const nlohmann::json& params, std::size_t page_size);

// Turns what a handler returned into the protocol's result object (exposed for tests).
nlohmann::json render_tool_result(const RegisteredTool& tool, ToolResult result,
                                  const ToolCallLimits& limits);

}  // namespace fapo::mcp
