// JSON-RPC 2.0 framing as MCP uses it: one message is a request (method and id), a notification
// (method, no id) or a response (id with result or error). Ids are strings or integers; batches
// are refused (MCP removed them in 2025-06-18). Decoding never throws: anything malformed
// becomes a RpcError that can be sent back as is. Encoding never throws either: invalid UTF-8
// in a string is replaced rather than failing the whole reply. Plain values; thread-safe.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace fapo::mcp {

// The error codes JSON-RPC 2.0 reserves, plus the one MCP uses for an unknown resource.
inline constexpr int kParseError = -32700;
inline constexpr int kInvalidRequest = -32600;
inline constexpr int kMethodNotFound = -32601;
inline constexpr int kInvalidParams = -32602;
inline constexpr int kInternalError = -32603;
inline constexpr int kResourceNotFound = -32002;

struct RpcError {
  int code = kInternalError;
  std::string message;
  nlohmann::json data;  // null when absent
};

// A request id: a string or an integer, kept as the JSON value the client sent so the reply
// echoes it exactly (including integers beyond 2^53 that a double would round).
class RequestId {
 public:
  RequestId() = default;
  // Accepts a JSON string or integer; anything else yields nullopt.
  static std::optional<RequestId> from_json(const nlohmann::json& value);

  const nlohmann::json& value() const { return value_; }
  // A stable map key that keeps "1" and 1 apart.
  std::string key() const { return value_.dump(); }
  friend bool operator==(const RequestId& a, const RequestId& b) { return a.value_ == b.value_; }

 private:
  explicit RequestId(nlohmann::json value) : value_(std::move(value)) {}
  nlohmann::json value_;
};

enum class MessageKind { kRequest, kNotification, kResponse };

struct Message {
  MessageKind kind = MessageKind::kNotification;
  std::optional<RequestId> id;    // set for requests and responses
  std::string method;             // set for requests and notifications
  nlohmann::json params;          // null when absent
  nlohmann::json result;          // responses only
  std::optional<RpcError> error;  // responses only
};

// A message that could not be decoded, with the id to answer under when one could be read
// (JSON-RPC answers with a null id otherwise).
struct DecodeFailure {
  RpcError error;
  std::optional<RequestId> id;
};

using DecodeResult = std::variant<Message, DecodeFailure>;

// Messages nested deeper than this are refused before parsing (-32600).
inline constexpr std::size_t kMaxNestingDepth = 128;

// Parses one message from text. Malformed JSON → -32700; a batch, a non-object, a bad id, a
// missing method or nesting beyond kMaxNestingDepth → -32600.
DecodeResult decode_message(std::string_view text);
// The same checks on an already parsed JSON value.
DecodeResult decode_parsed_message(const nlohmann::json& value);

// Encoders. `id` null means "no id could be read" and is written as JSON null.
nlohmann::json make_response(const RequestId& id, nlohmann::json result);
nlohmann::json make_error_response(const std::optional<RequestId>& id, const RpcError& error);
nlohmann::json make_notification(std::string_view method, nlohmann::json params);

// One line of compact JSON (no raw newlines: JSON escapes them inside strings). Invalid UTF-8
// is replaced with U+FFFD rather than throwing.
std::string to_wire(const nlohmann::json& message);

// The outcome of a method handler: a result object or a JSON-RPC error.
class Reply {
 public:
  static Reply success(nlohmann::json result) { return Reply(std::move(result), std::nullopt); }
  static Reply failure(int code, std::string message, nlohmann::json data = nullptr) {
    return Reply(nullptr, RpcError{code, std::move(message), std::move(data)});
  }

  bool is_error() const { return error_.has_value(); }
  const nlohmann::json& result() const { return result_; }
  const RpcError& error() const { return *error_; }

  // The response message for `id`.
  nlohmann::json to_message(const RequestId& id) const;

 private:
  Reply(nlohmann::json result, std::optional<RpcError> error)
      : result_(std::move(result)), error_(std::move(error)) {}
  nlohmann::json result_;
  std::optional<RpcError> error_;
};

}  // namespace fapo::mcp
