#include "mcp_server/protocol/json_rpc.h"

#include <doctest/doctest.h>

namespace fapo::mcp {
namespace {

using nlohmann::json;

Message as_message(DecodeResult result) {
  REQUIRE(std::holds_alternative<Message>(result));
  return std::get<Message>(std::move(result));
}

DecodeFailure as_failure(DecodeResult result) {
  REQUIRE(std::holds_alternative<DecodeFailure>(result));
  return std::get<DecodeFailure>(std::move(result));
}

TEST_CASE("decodes a request, a notification and a response") {
  const Message req = as_message(decode_message(R"({"jsonrpc":"2.0","id":7,"method":"ping"})"));
  CHECK(req.kind == MessageKind::kRequest);
  CHECK(req.id->value() == 7);
  CHECK(req.method == "ping");
  CHECK(req.params.is_null());

  const Message note = as_message(
      decode_message(R"({"jsonrpc":"2.0","method":"notifications/initialized","params":{}})"));
  CHECK(note.kind == MessageKind::kNotification);
  CHECK_FALSE(note.id.has_value());

  const Message response = as_message(decode_message(R"({"jsonrpc":"2.0","id":"x","result":{}})"));
  CHECK(response.kind == MessageKind::kResponse);
  CHECK(response.id->value() == "x");
}

TEST_CASE("keeps string and integer ids apart and echoes large integers exactly") {
  const Message text = as_message(decode_message(R"({"jsonrpc":"2.0","id":"1","method":"m"})"));
  const Message number = as_message(decode_message(R"({"jsonrpc":"2.0","id":1,"method":"m"})"));
  CHECK(text.id->key() != number.id->key());
  const Message big =
      as_message(decode_message(R"({"jsonrpc":"2.0","id":9007199254740993,"method":"m"})"));
  CHECK(to_wire(make_response(*big.id, json::object())).find("9007199254740993") !=
        std::string::npos);
}

TEST_CASE("malformed JSON is a parse error without an id") {
  const DecodeFailure failure = as_failure(decode_message("{not json"));
  CHECK(failure.error.code == kParseError);
  CHECK_FALSE(failure.id.has_value());
}

TEST_CASE("a batch is an invalid request that says batches are not supported") {
  const DecodeFailure failure =
      as_failure(decode_message(R"([{"jsonrpc":"2.0","id":1,"method":"ping"}])"));
  CHECK(failure.error.code == kInvalidRequest);
  CHECK(failure.error.message.find("batches are not supported") != std::string::npos);
}

TEST_CASE("null, fractional and object ids are invalid requests") {
  for (const char* text :
       {R"({"jsonrpc":"2.0","id":null,"method":"m"})", R"({"jsonrpc":"2.0","id":1.5,"method":"m"})",
        R"({"jsonrpc":"2.0","id":{},"method":"m"})",
        R"({"jsonrpc":"2.0","id":[1],"method":"m"})"}) {
    CAPTURE(text);
    const DecodeFailure failure = as_failure(decode_message(text));
    CHECK(failure.error.code == kInvalidRequest);
    CHECK(failure.error.message.find("'id'") != std::string::npos);
    CHECK_FALSE(failure.id.has_value());
  }
}

TEST_CASE("a wrong jsonrpc version or method type keeps the id for the error reply") {
  const DecodeFailure version =
      as_failure(decode_message(R"({"jsonrpc":"1.0","id":3,"method":"m"})"));
  CHECK(version.error.code == kInvalidRequest);
  REQUIRE(version.id.has_value());
  CHECK(version.id->value() == 3);

  const DecodeFailure method =
      as_failure(decode_message(R"({"jsonrpc":"2.0","id":"q","method":5})"));
  CHECK(method.error.message.find("'method' must be a string, got integer") != std::string::npos);
  CHECK(method.id->value() == "q");
}

TEST_CASE(
    "a message with neither method nor id, or a response with both result and error, is invalid") {
  CHECK(as_failure(decode_message(R"({"jsonrpc":"2.0"})")).error.code == kInvalidRequest);
  CHECK(
      as_failure(decode_message(R"({"jsonrpc":"2.0","id":1,"result":1,"error":{}})")).error.code ==
      kInvalidRequest);
}

TEST_CASE("error responses carry the code, the message and a null id when none was read") {
  const json message = make_error_response(std::nullopt, RpcError{kParseError, "bad", nullptr});
  CHECK(message ==
        json::parse(R"({"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"bad"}})"));
}

TEST_CASE("to_wire writes one line and replaces invalid UTF-8 instead of throwing") {
  const json message{{"text", std::string("a\nb\xff")}};
  const std::string wire = to_wire(message);
  CHECK(wire.find('\n') == std::string::npos);
  CHECK(wire.find("\\n") != std::string::npos);
  CHECK(wire.find("\xef\xbf\xbd") != std::string::npos);  // U+FFFD
}

TEST_CASE("refuses messages nested deeper than the limit before parsing them") {
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  const DecodeFailure failure = as_failure(decode_message(deep));
  CHECK(failure.error.code == kInvalidRequest);
  CHECK(failure.error.message.find("nests deeper than 128") != std::string::npos);
  // Brackets inside strings do not count.
  const std::string text = R"({"jsonrpc":"2.0","id":1,"method":"m","params":{"s":")" +
                           std::string(1000, '[') + "\\\"]\"}}";
  CHECK(std::holds_alternative<Message>(decode_message(text)));
}

}  // namespace
}  // namespace fapo::mcp
