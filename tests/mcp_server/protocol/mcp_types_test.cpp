#include "mcp_server/protocol/mcp_types.h"

#include <doctest/doctest.h>

namespace fapo::mcp {
namespace {

using nlohmann::json;

TEST_CASE("negotiation echoes a supported version and otherwise offers the newest") {
  CHECK(negotiate_protocol_version("2025-03-26") == "2025-03-26");
  CHECK(negotiate_protocol_version("2025-06-18") == "2025-06-18");
  CHECK(negotiate_protocol_version("2025-11-25") == "2025-11-25");
  CHECK(negotiate_protocol_version("2024-11-05") == "2025-11-25");
  CHECK(negotiate_protocol_version("") == "2025-11-25");
}

TEST_CASE("decodes tools/call params and reports what is wrong with bad ones") {
  auto call = decode_tool_call(json{{"name", "list_tenants"}, {"arguments", {{"limit", 2}}}});
  REQUIRE(call.ok());
  CHECK(call->name == "list_tenants");
  CHECK(call->arguments == json{{"limit", 2}});

  auto no_arguments = decode_tool_call(json{{"name", "x"}});
  REQUIRE(no_arguments.ok());
  CHECK(no_arguments->arguments == json::object());

  auto no_name = decode_tool_call(json::object());
  REQUIRE_FALSE(no_name.ok());
  CHECK(no_name.error().code == ErrorCode::kInvalidInput);
  CHECK(no_name.error().message.find("'name'") != std::string::npos);

  auto array_params = decode_tool_call(json::array());
  REQUIRE_FALSE(array_params.ok());
  CHECK(array_params.error().message.find("'params' must be an object") != std::string::npos);
}

TEST_CASE("reads a progress token only when it is a string or an integer") {
  CHECK(progress_token(json{{"_meta", {{"progressToken", "t"}}}}) == json("t"));
  CHECK(progress_token(json{{"_meta", {{"progressToken", 4}}}}) == json(4));
  CHECK_FALSE(progress_token(json{{"_meta", {{"progressToken", 1.5}}}}).has_value());
  CHECK_FALSE(progress_token(json{{"name", "x"}}).has_value());
  CHECK_FALSE(progress_token(json()).has_value());
}

TEST_CASE("encodes a tool with annotations and an output schema in the protocol's spelling") {
  ToolListing listing{"t", "T", "does t", json{{"type", "object"}}, json{{"type", "object"}}, {}};
  const json tool = encode_tool(listing);
  CHECK(tool["inputSchema"] == json{{"type", "object"}});
  CHECK(tool["outputSchema"] == json{{"type", "object"}});
  CHECK(tool["annotations"]["readOnlyHint"] == true);
  CHECK(tool["annotations"]["openWorldHint"] == false);
}

TEST_CASE("a tool result has text content, isError and structured content when given") {
  const json ok = encode_tool_result("fine", json{{"a", 1}}, false);
  CHECK(ok["content"] == json::parse(R"([{"type":"text","text":"fine"}])"));
  CHECK(ok["isError"] == false);
  CHECK(ok["structuredContent"] == json{{"a", 1}});
  const json failed = encode_tool_result("no", nullptr, true);
  CHECK(failed["isError"] == true);
  CHECK_FALSE(failed.contains("structuredContent"));
}

TEST_CASE("a cancellation needs a string or integer requestId") {
  auto cancellation = decode_cancellation(json{{"requestId", 3}, {"reason", "bored"}});
  REQUIRE(cancellation.ok());
  CHECK(cancellation->request_id == 3);
  CHECK(cancellation->reason == "bored");
  CHECK_FALSE(decode_cancellation(json{{"reason", "x"}}).ok());
}

}  // namespace
}  // namespace fapo::mcp
