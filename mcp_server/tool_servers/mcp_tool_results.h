// Translating between MCP's tool shapes and the engine's: a listed tool becomes a
// ToolDefinition, a tools/call result becomes the text a model reads, and a failure (a result
// with isError, a JSON-RPC error) gets the ToolErrorKind the trajectory records. Pure functions
// over JSON values; safe from any thread.
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>

#include "engine/llm/tools.h"
#include "engine/tools/tool_set.h"

namespace fapo::mcp {

// name, description and inputSchema of an MCP tool description. "$schema" is dropped (model
// providers reject or ignore it) and a missing or non-object inputSchema becomes
// {"type": "object"}.
ToolDefinition to_tool_definition(const nlohmann::json& mcp_tool);

// What a tools/call result says, as one text: the text blocks joined by newlines, other
// blocks as short placeholders ("[image: image/png]"), and the structuredContent as JSON when
// no block carries text. Longer than `max_bytes`: cut there, with a note saying how much the
// tool returned.
std::string render_tool_content(const nlohmann::json& result, std::size_t max_bytes);

// The kind of a failure a tool reported in an isError result, read from its text: unknown
// tool, invalid arguments, permission, or else kOther.
ToolErrorKind classify_tool_error_text(const std::string& text);

// The kind of a JSON-RPC error answering tools/call: -32601 and -32602 saying the tool is
// unknown are kUnknownTool, other -32602 are kInvalidArguments, anything else kOther.
ToolErrorKind classify_rpc_error(long long code, const std::string& message);

}  // namespace fapo::mcp
