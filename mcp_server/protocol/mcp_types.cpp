#include "mcp_server/protocol/mcp_types.h"

#include <algorithm>

namespace fapo::mcp {
namespace {

using nlohmann::json;

Error bad_params(std::string message) {
  return make_error(ErrorCode::kInvalidInput, std::move(message));
}

// MCP params are objects; absent params read as an empty object.
Result<json> params_object(const json& params) {
  if (params.is_null()) return json::object();
  if (!params.is_object()) {
    return bad_params(std::string("'params' must be an object, got ") + params.type_name());
  }
  return params;
}

}  // namespace

const std::vector<std::string>& supported_protocol_versions() {
  static const std::vector<std::string> kVersions = {std::string(kLatestProtocolVersion),
                                                     "2025-06-18", "2025-03-26"};
  return kVersions;
}

bool is_supported_protocol_version(std::string_view version) {
  const auto& versions = supported_protocol_versions();
  return std::find(versions.begin(), versions.end(), version) != versions.end();
}

std::string negotiate_protocol_version(std::string_view requested) {
  if (is_supported_protocol_version(requested)) return std::string(requested);
  return std::string(kLatestProtocolVersion);
}

Result<InitializeRequest> decode_initialize(const json& params) {
  FAPO_ASSIGN_OR_RETURN(json object, params_object(params));
  auto version = object.find("protocolVersion");
  if (version == object.end() || !version->is_string()) {
    return bad_params("initialize: 'protocolVersion' must be a string such as \"" +
                      std::string(kLatestProtocolVersion) + "\"");
  }
  InitializeRequest request;
  request.protocol_version = version->get<std::string>();
  if (auto info = object.find("clientInfo"); info != object.end() && info->is_object()) {
    if (auto name = info->find("name"); name != info->end() && name->is_string()) {
      request.client_name = name->get<std::string>();
    }
    if (auto v = info->find("version"); v != info->end() && v->is_string()) {
      request.client_version = v->get<std::string>();
    }
  }
  return request;
}

json encode_initialize_result(std::string_view protocol_version, const ServerIdentity& server) {
  json capabilities{
      {"tools", {{"listChanged", false}}},
      {"resources", {{"subscribe", false}, {"listChanged", false}}},
      {"prompts", {{"listChanged", false}}},
  };
  json result{
      {"protocolVersion", protocol_version},
      {"capabilities", std::move(capabilities)},
      {"serverInfo", {{"name", server.name}, {"version", server.version}}},
  };
  if (!server.instructions.empty()) result["instructions"] = server.instructions;
  return result;
}

json encode_tool(const ToolListing& tool) {
  json listed{
      {"name", tool.name},
      {"title", tool.title},
      {"description", tool.description},
      {"inputSchema", tool.input_schema},
      {"annotations",
       {{"title", tool.title},
        {"readOnlyHint", tool.hints.read_only},
        {"destructiveHint", tool.hints.destructive},
        {"idempotentHint", tool.hints.idempotent},
        {"openWorldHint", tool.hints.open_world}}},
  };
  if (!tool.output_schema.is_null()) listed["outputSchema"] = tool.output_schema;
  return listed;
}

Result<std::optional<std::string>> decode_cursor_param(const json& params) {
  FAPO_ASSIGN_OR_RETURN(json object, params_object(params));
  auto cursor = object.find("cursor");
  if (cursor == object.end() || cursor->is_null()) return std::optional<std::string>();
  if (!cursor->is_string()) {
    return bad_params(std::string("'cursor' must be a string, got ") + cursor->type_name());
  }
  return std::optional<std::string>(cursor->get<std::string>());
}

json encode_list_result(std::string_view key, json items,
                        const std::optional<std::string>& next_cursor) {
  json result{{std::string(key), std::move(items)}};
  if (next_cursor) result["nextCursor"] = *next_cursor;
  return result;
}

Result<ToolCall> decode_tool_call(const json& params) {
  FAPO_ASSIGN_OR_RETURN(json object, params_object(params));
  auto name = object.find("name");
  if (name == object.end() || !name->is_string()) {
    return bad_params("tools/call: 'name' must be a string naming a tool from tools/list");
  }
  ToolCall call;
  call.name = name->get<std::string>();
  if (auto arguments = object.find("arguments");
      arguments != object.end() && !arguments->is_null()) {
    if (!arguments->is_object()) {
      return bad_params(std::string("tools/call: 'arguments' must be an object, got ") +
                        arguments->type_name());
    }
    call.arguments = *arguments;
  }
  return call;
}

json encode_tool_result(std::string_view text, const json& structured, bool is_error) {
  json result{{"content", json::array({{{"type", "text"}, {"text", text}}})},
              {"isError", is_error}};
  if (!structured.is_null()) result["structuredContent"] = structured;
  return result;
}

std::optional<json> progress_token(const json& params) {
  if (!params.is_object()) return std::nullopt;
  auto meta = params.find("_meta");
  if (meta == params.end() || !meta->is_object()) return std::nullopt;
  auto token = meta->find("progressToken");
  if (token == meta->end()) return std::nullopt;
  if (!token->is_string() && !token->is_number_integer()) return std::nullopt;
  return *token;
}

json encode_progress_params(const json& token, double progress, std::optional<double> total,
                            std::string_view message) {
  json params{{"progressToken", token}, {"progress", progress}};
  if (total) params["total"] = *total;
  if (!message.empty()) params["message"] = message;
  return params;
}

Result<Cancellation> decode_cancellation(const json& params) {
  FAPO_ASSIGN_OR_RETURN(json object, params_object(params));
  auto id = object.find("requestId");
  if (id == object.end() || !(id->is_string() || id->is_number_integer())) {
    return bad_params("notifications/cancelled: 'requestId' must be a string or an integer");
  }
  Cancellation cancellation;
  cancellation.request_id = *id;
  if (auto reason = object.find("reason"); reason != object.end() && reason->is_string()) {
    cancellation.reason = reason->get<std::string>();
  }
  return cancellation;
}

}  // namespace fapo::mcp
