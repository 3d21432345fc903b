// The MCP wire vocabulary: protocol revisions, and decoders/encoders between the protocol's
// JSON (camelCase keys such as inputSchema, isError, structuredContent) and the server's own
// snake_case values. This header and its .cpp are the only places that spell the protocol's
// keys, so the dispatcher and the tools never touch raw protocol JSON. Decoders return
// Result with ErrorCode::kInvalidInput and a message naming the field; the dispatcher answers
// those with -32602. Pure functions; thread-safe.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/base/result.h"

namespace fapo::mcp {

// Revisions that use the initialize handshake, newest first.
inline constexpr std::string_view kLatestProtocolVersion = "2025-11-25";
const std::vector<std::string>& supported_protocol_versions();
bool is_supported_protocol_version(std::string_view version);
// The client's version when we speak it, otherwise our newest (the client then decides).
std::string negotiate_protocol_version(std::string_view requested);

// Method names.
inline constexpr std::string_view kInitialize = "initialize";
inline constexpr std::string_view kPing = "ping";
inline constexpr std::string_view kToolsList = "tools/list";
inline constexpr std::string_view kToolsCall = "tools/call";
inline constexpr std::string_view kResourcesList = "resources/list";
inline constexpr std::string_view kResourceTemplatesList = "resources/templates/list";
inline constexpr std::string_view kResourcesRead = "resources/read";
inline constexpr std::string_view kPromptsList = "prompts/list";
inline constexpr std::string_view kPromptsGet = "prompts/get";
inline constexpr std::string_view kInitializedNotification = "notifications/initialized";
inline constexpr std::string_view kCancelledNotification = "notifications/cancelled";
inline constexpr std::string_view kProgressNotification = "notifications/progress";

struct InitializeRequest {
  std::string protocol_version;
  std::string client_name;  // "" when the client sent none
  std::string client_version;
};
Result<InitializeRequest> decode_initialize(const nlohmann::json& params);

struct ServerIdentity {
  std::string name;
  std::string version;
  std::string instructions;  // shown to the model by clients that support it
};
nlohmann::json encode_initialize_result(std::string_view protocol_version,
                                        const ServerIdentity& server);

// Tool hints for clients; see MCP "ToolAnnotations".
struct ToolHints {
  bool read_only = true;
  bool destructive = false;
  bool idempotent = true;
  bool open_world = false;
};

struct ToolListing {
  std::string name;
  std::string title;
  std::string description;
  nlohmann::json input_schema;
  nlohmann::json output_schema;  // null when the tool declares none
  ToolHints hints;
};
nlohmann::json encode_tool(const ToolListing& tool);

// Any list method's params: an optional opaque cursor.
Result<std::optional<std::string>> decode_cursor_param(const nlohmann::json& params);
// {"<key>": items, "nextCursor": ...}; key is "tools", "resources", "prompts", ...
nlohmann::json encode_list_result(std::string_view key, nlohmann::json items,
                                  const std::optional<std::string>& next_cursor);

struct ToolCall {
  std::string name;
  nlohmann::json arguments = nlohmann::json::object();
};
Result<ToolCall> decode_tool_call(const nlohmann::json& params);

// A tool result. `structured` null means no structuredContent.
nlohmann::json encode_tool_result(std::string_view text, const nlohmann::json& structured,
                                  bool is_error);

// params._meta.progressToken (a string or an integer) when the request carried one.
std::optional<nlohmann::json> progress_token(const nlohmann::json& params);
nlohmann::json encode_progress_params(const nlohmann::json& token, double progress,
                                      std::optional<double> total, std::string_view message);

struct Cancellation {
  nlohmann::json request_id;  // as the client sent it
  std::string reason;
};
Result<Cancellation> decode_cancellation(const nlohmann::json& params);

}  // namespace fapo::mcp
