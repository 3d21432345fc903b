#include "mcp_server/protocol/json_rpc.h"

#include <algorithm>
#include <string>

namespace fapo::mcp {
namespace {

using nlohmann::json;

DecodeFailure invalid(std::string message, std::optional<RequestId> id = std::nullopt) {
  return DecodeFailure{RpcError{kInvalidRequest, std::move(message), nullptr}, std::move(id)};
}

const char* json_type_name(const json& value) {
  if (value.is_number_integer()) return "integer";
  if (value.is_number()) return "number";
  return value.type_name();
}

// Reads "id" when the object has one. The outer optional says whether an id key exists; the
// inner failure says the key exists but holds something JSON-RPC does not allow as an MCP id.
std::variant<std::monostate, RequestId, DecodeFailure> read_id(const json& object) {
  auto found = object.find("id");
  if (found == object.end()) return std::monostate{};
  if (auto id = RequestId::from_json(*found)) return *id;
  return invalid(std::string("'id' must be a string or an integer, got ") + json_type_name(*found));
}

DecodeResult decode_response(const json& object, RequestId id) {
  const bool has_result = object.contains("result");
  const bool has_error = object.contains("error");
  if (has_result == has_error) {
    return invalid("a response must carry exactly one of 'result' and 'error'", id);
  }
  Message message;
  message.kind = MessageKind::kResponse;
  message.id = std::move(id);
  if (has_result) {
    message.result = object.at("result");
    return message;
  }
  const json& error = object.at("error");
  RpcError decoded;
  if (error.is_object()) {
    decoded.code = error.value("code", kInternalError);
    decoded.message = error.value("message", std::string());
  }
  message.error = std::move(decoded);
  return message;
}

// Deepest bracket nesting outside strings. Checked before parsing because everything that
// walks a JSON value afterwards (schema validation, sanitising, destruction) recurses, and a
// hostile message of a million '[' would otherwise exhaust the stack.
std::size_t nesting_depth(std::string_view text) {
  std::size_t depth = 0;
  std::size_t deepest = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      deepest = std::max(deepest, ++depth);
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return deepest;
}

}  // namespace

std::optional<RequestId> RequestId::from_json(const json& value) {
  if (value.is_string() || value.is_number_integer()) return RequestId(value);
  return std::nullopt;
}

DecodeResult decode_message(std::string_view text) {
  if (nesting_depth(text) > kMaxNestingDepth) {
    return invalid("the message nests deeper than " + std::to_string(kMaxNestingDepth) + " levels");
  }
  json value = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded()) {
    return DecodeFailure{
        RpcError{kParseError, "Parse error: the message is not valid JSON", nullptr}, std::nullopt};
  }
  return decode_parsed_message(value);
}

DecodeResult decode_parsed_message(const json& value) {
  if (value.is_array()) {
    return invalid("JSON-RPC batches are not supported; send one message at a time");
  }
  if (!value.is_object()) {
    return invalid(std::string("a message must be a JSON object, got ") + json_type_name(value));
  }
  auto id_or_failure = read_id(value);
  if (auto* failure = std::get_if<DecodeFailure>(&id_or_failure)) return *failure;
  std::optional<RequestId> id;
  if (auto* read = std::get_if<RequestId>(&id_or_failure)) id = *read;

  auto version = value.find("jsonrpc");
  if (version == value.end() || *version != "2.0") {
    return invalid("'jsonrpc' must be \"2.0\"", id);
  }
  auto method = value.find("method");
  if (method == value.end()) {
    if (id) return decode_response(value, *id);
    return invalid("a message needs a 'method' (request or notification) or an 'id' (response)");
  }
  if (!method->is_string()) {
    return invalid(std::string("'method' must be a string, got ") + json_type_name(*method), id);
  }
  Message message;
  message.kind = id ? MessageKind::kRequest : MessageKind::kNotification;
  message.id = std::move(id);
  message.method = method->get<std::string>();
  if (auto params = value.find("params"); params != value.end()) message.params = *params;
  return message;
}

json make_response(const RequestId& id, json result) {
  return json{{"jsonrpc", "2.0"}, {"id", id.value()}, {"result", std::move(result)}};
}

json make_error_response(const std::optional<RequestId>& id, const RpcError& error) {
  json body{{"code", error.code}, {"message", error.message}};
  if (!error.data.is_null()) body["data"] = error.data;
  return json{{"jsonrpc", "2.0"}, {"id", id ? id->value() : json(nullptr)}, {"error", body}};
}

json make_notification(std::string_view method, json params) {
  json message{{"jsonrpc", "2.0"}, {"method", method}};
  if (!params.is_null()) message["params"] = std::move(params);
  return message;
}

std::string to_wire(const json& message) {
  return message.dump(-1, ' ', /*ensure_ascii=*/false, json::error_handler_t::replace);
}

json Reply::to_message(const RequestId& id) const {
  if (error_) return make_error_response(id, *error_);
  return make_response(id, result_);
}

}  // namespace fapo::mcp
