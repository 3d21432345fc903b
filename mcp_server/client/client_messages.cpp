#include "mcp_server/client/client_messages.h"

#include <algorithm>

namespace fapo::mcp {

using nlohmann::json;

json request_message(long long id, const std::string& method, json params) {
  json message{{"jsonrpc", "2.0"}, {"id", id}, {"method", method}};
  if (!params.is_null()) message["params"] = std::move(params);
  return message;
}

json notification_message(const std::string& method, json params) {
  json message{{"jsonrpc", "2.0"}, {"method", method}};
  if (!params.is_null()) message["params"] = std::move(params);
  return message;
}

json cancelled_notification(long long id) {
  return notification_message("notifications/cancelled",
                              {{"requestId", id}, {"reason", "the client stopped waiting"}});
}

json method_not_found_reply(const json& id) {
  return json{{"jsonrpc", "2.0"},
              {"id", id},
              {"error", {{"code", -32601}, {"message", "this client offers no methods"}}}};
}

json initialize_params(const std::string& client_name, const std::string& client_version,
                       const std::string& protocol_version) {
  return json{{"protocolVersion", protocol_version},
              {"capabilities", json::object()},
              {"clientInfo", {{"name", client_name}, {"version", client_version}}}};
}

json tool_call_params(const std::string& name, const json& arguments,
                      const std::optional<std::string>& progress_token) {
  json params{{"name", name}, {"arguments", arguments}};
  if (progress_token) params["_meta"] = {{"progressToken", *progress_token}};
  return params;
}

ToolCallResult to_tool_call_result(json result) {
  ToolCallResult out;
  out.is_error = result.value("isError", false);
  if (result.contains("content") && result["content"].is_array()) {
    for (const json& block : result["content"]) {
      if (!block.is_object() || block.value("type", "") != "text") continue;
      if (!out.text.empty()) out.text += "\n";
      out.text += block.value("text", "");
    }
  }
  out.structured = result.value("structuredContent", json());
  out.raw = std::move(result);
  return out;
}

bool is_server_request(const json& message) {
  return message.contains("method") && message.contains("id");
}

bool is_notification(const json& message) {
  return message.contains("method") && !message.contains("id");
}

std::optional<Error> reply_error(const json& reply, const std::string& method,
                                 RequestFailureDetail& detail) {
  if (!reply.contains("error")) return std::nullopt;
  const json& error = reply["error"];
  json code = error.is_object() ? error.value("code", json(0)) : json(0);
  std::string text = error.is_object() && error.contains("message") && error["message"].is_string()
                         ? error["message"].get<std::string>()
                         : std::string("(no message)");
  detail.kind = RequestFailure::kRpcError;
  detail.rpc_code = code.is_number_integer() ? code.get<long long>() : 0;
  detail.rpc_message = text;
  return make_error(ErrorCode::kInvalidInput, "the MCP server answered " + method + " with error " +
                                                  code.dump() + ": " + text);
}

Result<std::vector<json>> list_all_tools(const ToolsPageRequest& request_page,
                                         std::chrono::steady_clock::time_point deadline) {
  std::vector<json> tools;
  json params = nullptr;
  // A server that keeps handing out cursors is broken; stop rather than loop for ever.
  for (int page = 0; page < 100; ++page) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    FAPO_ASSIGN_OR_RETURN(json result,
                          request_page(params, std::max(left, std::chrono::milliseconds(1))));
    if (!result.contains("tools") || !result["tools"].is_array()) {
      return make_error(ErrorCode::kIo, "the MCP server's tools/list result has no tools array");
    }
    for (json& tool : result["tools"]) tools.push_back(std::move(tool));
    if (!result.contains("nextCursor") || !result["nextCursor"].is_string()) return tools;
    params = {{"cursor", result["nextCursor"]}};
  }
  return make_error(ErrorCode::kIo, "the MCP server's tools/list did not end after 100 pages");
}

std::string describe_wait(std::chrono::milliseconds wait) {
  if (wait.count() % 1000 != 0) return std::to_string(wait.count()) + " ms";
  return std::to_string(wait.count() / 1000) + " s";
}

}  // namespace fapo::mcp
