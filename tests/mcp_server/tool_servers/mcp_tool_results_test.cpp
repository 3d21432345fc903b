#include "mcp_server/tool_servers/mcp_tool_results.h"

#include <doctest/doctest.h>

namespace fapo::mcp {
namespace {

using nlohmann::json;

TEST_CASE("an MCP tool becomes a definition without $schema and with an object schema") {
  ToolDefinition echo = to_tool_definition(json::parse(R"({
      "name": "echo", "description": "Echoes", "annotations": {"readOnlyHint": true},
      "inputSchema": {"$schema": "http://json-schema.org/draft-07/schema#", "type": "object",
                      "properties": {"message": {"type": "string"}}, "required": ["message"]}})"));
  CHECK(echo.name == "echo");
  CHECK(echo.description == "Echoes");
  CHECK(echo.parameters == json::parse(R"({"type": "object",
      "properties": {"message": {"type": "string"}}, "required": ["message"]})"));

  ToolDefinition bare = to_tool_definition({{"name", "bare"}, {"title", "Bare tool"}});
  CHECK(bare.description == "Bare tool");
  CHECK(bare.parameters == json{{"type", "object"}});
  CHECK(to_tool_definition({{"name", "odd"}, {"inputSchema", "nonsense"}}).parameters ==
        json{{"type", "object"}});
  CHECK(
      to_tool_definition({{"name", "typeless"}, {"inputSchema", {{"properties", json::object()}}}})
          .parameters["type"] == "object");
}

TEST_CASE("content renders text blocks, placeholders, embedded text and structured content") {
  json result = json::parse(R"({"content": [
      {"type": "text", "text": "first"},
      {"type": "image", "data": "AAAA", "mimeType": "image/png"},
      {"type": "resource", "resource": {"uri": "file:///a.txt", "text": "embedded"}},
      {"type": "resource", "resource": {"uri": "file:///b.bin", "blob": "AAAA"}},
      {"type": "video"},
      {"type": "text", "text": "last"}],
      "structuredContent": {"ignored": true}})");
  CHECK(render_tool_content(result, 1000) ==
        "first\n[image: image/png]\nembedded\n[resource: file:///b.bin]\n[video content]\nlast");
  CHECK(render_tool_content(json::parse(R"({"content": [], "structuredContent": {"n": 1}})"),
                            100) == R"({"n":1})");
  CHECK(render_tool_content(json::object(), 100).empty());
}

TEST_CASE("content over the limit is cut on a character boundary with a note") {
  std::string text = std::string(9, 'a') + "é";  // 11 bytes, é is 2
  json result{{"content", json::array({{{"type", "text"}, {"text", text}}})}};
  CHECK(render_tool_content(result, 11) == text);
  std::string cut = render_tool_content(result, 10);
  CHECK(cut == std::string(9, 'a') + "\n[cut: the tool returned 11 bytes; the first 9 are kept]");
}

TEST_CASE(
    "an isError text says whether the tool was unknown, the arguments bad, or access denied") {
  CHECK(classify_tool_error_text("Unknown tool: lookup") == ToolErrorKind::kUnknownTool);
  CHECK(classify_tool_error_text("MCP error -32602: Tool nope not found") ==
        ToolErrorKind::kUnknownTool);
  CHECK(classify_tool_error_text("no such tool 'x'") == ToolErrorKind::kUnknownTool);
  CHECK(classify_tool_error_text("MCP error -32602: Input validation error: Invalid arguments "
                                 "for tool get-sum") == ToolErrorKind::kInvalidArguments);
  CHECK(classify_tool_error_text("missing required field 'key'") ==
        ToolErrorKind::kInvalidArguments);
  CHECK(classify_tool_error_text("Access denied") == ToolErrorKind::kPermission);
  CHECK(classify_tool_error_text("403 Forbidden") == ToolErrorKind::kPermission);
  CHECK(classify_tool_error_text("record not found") == ToolErrorKind::kOther);
  CHECK(classify_tool_error_text("the tool failed to reach the API") == ToolErrorKind::kOther);
}

TEST_CASE("JSON-RPC error codes map to kinds, with -32602 read for an unknown tool") {
  CHECK(classify_rpc_error(-32601, "Method not found") == ToolErrorKind::kUnknownTool);
  CHECK(classify_rpc_error(-32602, "Unknown tool: x") == ToolErrorKind::kUnknownTool);
  CHECK(classify_rpc_error(-32602, "Tool x not found") == ToolErrorKind::kUnknownTool);
  CHECK(classify_rpc_error(-32602, "Invalid params: a must be a number") ==
        ToolErrorKind::kInvalidArguments);
  CHECK(classify_rpc_error(-32603, "Unknown tool") == ToolErrorKind::kOther);
  CHECK(classify_rpc_error(-32000, "server error") == ToolErrorKind::kOther);
}

}  // namespace
}  // namespace fapo::mcp
