// The JSON-RPC messages an MCP client sends and reads, shared by the two stdio clients
// (StdioClient: one request at a time; MultiplexedClient: many in flight): building requests
// and notifications, reading a reply's error, turning a tools/call result into a
// ToolCallResult, and following tools/list through its pages. Plain functions over JSON
// values; safe from any thread.
#pragma once

#include <chrono>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "engine/base/result.h"

namespace fapo::mcp {

// Why a request failed, for callers that react differently to each (restart a hung server,
// classify a JSON-RPC error) without reading messages.
enum class RequestFailure {
  kNone,         // the request succeeded
  kRpcError,     // the server answered with a JSON-RPC error (code and message below)
  kTimeout,      // no reply (or the request could not be sent) before the deadline
  kCancelled,    // the cancel flag was raised while waiting
  kExited,       // the server closed its output or its input: it exited or is exiting
  kLineTooLong,  // a line exceeded max_line_bytes; it is dropped, the stream stays in step
  kNotJson,      // a line that is not a JSON object (when such lines are not skipped)
  kIo,           // the pipes failed otherwise
};

struct RequestFailureDetail {
  RequestFailure kind = RequestFailure::kNone;
  long long rpc_code = 0;   // kRpcError only
  std::string rpc_message;  // kRpcError only
};

// The outcome of a tools/call that reached the tool: `is_error` is the tool's own verdict
// (arguments it refused, work it could not do), with `text` saying why.
struct ToolCallResult {
  bool is_error = false;
  std::string text;           // the text content blocks, joined by newlines
  nlohmann::json structured;  // structuredContent, or null
  nlohmann::json raw;         // the whole result object
};

nlohmann::json request_message(long long id, const std::string& method, nlohmann::json params);
nlohmann::json notification_message(const std::string& method, nlohmann::json params);
// notifications/cancelled for a request the client stopped waiting for.
nlohmann::json cancelled_notification(long long id);
// The answer to a request the server sent: this client offers no methods (no sampling, roots
// or elicitation).
nlohmann::json method_not_found_reply(const nlohmann::json& id);

nlohmann::json initialize_params(const std::string& client_name, const std::string& client_version,
                                 const std::string& protocol_version);
nlohmann::json tool_call_params(const std::string& name, const nlohmann::json& arguments,
                                const std::optional<std::string>& progress_token);
ToolCallResult to_tool_call_result(nlohmann::json result);

// Whether a message the server sent is a request (it expects an answer), a notification, or
// a reply to one of ours.
bool is_server_request(const nlohmann::json& message);
bool is_notification(const nlohmann::json& message);

// The error of a reply that has one: an Error naming `method`, the code and the server's
// message, with the code and message also in `detail` (kind kRpcError). nullopt when the
// reply carries a result.
std::optional<Error> reply_error(const nlohmann::json& reply, const std::string& method,
                                 RequestFailureDetail& detail);

// tools/list through every page: `request_page` sends one tools/list with the given params
// (null, or the cursor) and the time left before `deadline`.
using ToolsPageRequest =
    std::function<Result<nlohmann::json>(nlohmann::json params, std::chrono::milliseconds left)>;
Result<std::vector<nlohmann::json>> list_all_tools(const ToolsPageRequest& request_page,
                                                   std::chrono::steady_clock::time_point deadline);

// "300 ms", "5 s": a wait as messages quote it.
std::string describe_wait(std::chrono::milliseconds wait);

}  // namespace fapo::mcp
