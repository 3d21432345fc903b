#include "mcp_server/server/tool_runner.h"

#include <doctest/doctest.h>

#include "tests/mcp_server/mcp_test_support.h"

namespace fapo::mcp {
namespace {

using nlohmann::json;

constexpr char kListOutput[] = R"({"type":"object","required":["items"],
  "properties":{"items":{"type":"array","items":{"type":"string"}}},"additionalProperties":false})";

RegisteredTool registered(const std::string& output_schema) {
  std::vector<ToolSpec> specs{testing::make_tool("t", nullptr)};
  auto table =
      ToolTable::make(specs, testing::schemas_for(specs, {{"tool_t.output.json", output_schema}}));
  REQUIRE(table.ok());
  return table->tools()[0];
}

TEST_CASE("a large result is shortened field by field to stay under the token budget") {
  const RegisteredTool tool = registered(kListOutput);
  json items = json::array();
  for (int i = 0; i < 20; ++i) items.push_back(std::string(5000, 'a' + i));
  const json result = render_tool_result(
      tool, ToolResult::success(json{{"items", items}}, "twenty long items"), ToolCallLimits{2000});
  CHECK(result["isError"] == false);
  CHECK(estimate_json_tokens(result["structuredContent"]) <= 2000);
  CHECK(estimate_tokens(result["content"][0]["text"].get<std::string>()) <= 2000);
  CHECK(result["structuredContent"]["items"].size() == 20);
  CHECK(result["structuredContent"]["items"][0].get<std::string>().find("[truncated ") !=
        std::string::npos);
}

TEST_CASE("a result that cannot be shortened enough becomes an error asking for a smaller page") {
  const RegisteredTool tool = registered(kListOutput);
  json items = json::array();
  for (int i = 0; i < 5000; ++i) items.push_back("item");
  const json result = render_tool_result(tool, ToolResult::success(json{{"items", items}}, "many"),
                                         ToolCallLimits{500});
  CHECK(result["isError"] == true);
  CHECK(result["content"][0]["text"].get<std::string>().find("smaller page") != std::string::npos);
}

TEST_CASE("structured content outside the output schema is reported as an internal error") {
  const RegisteredTool tool = registered(kListOutput);
  const json result = render_tool_result(
      tool, ToolResult::success(json{{"items", {1, 2}}}, "numbers"), ToolCallLimits{8000});
  CHECK(result["isError"] == true);
  CHECK(result["content"][0]["text"].get<std::string>().find("does not match its output schema") !=
        std::string::npos);
}

TEST_CASE("the text carries the summary and the JSON; error text is sanitised") {
  const RegisteredTool tool = registered(kListOutput);
  const json ok = render_tool_result(tool, ToolResult::success(json{{"items", {"x"}}}, "one item"),
                                     ToolCallLimits{8000});
  CHECK(ok["content"][0]["text"] == "one item\n{\"items\":[\"x\"]}");
  const json failed = render_tool_result(tool, ToolResult::failure("bad\x1b[31m input\u200b"),
                                         ToolCallLimits{8000});
  CHECK(failed["isError"] == true);
  CHECK(failed["content"][0]["text"] == "bad input");
  CHECK_FALSE(failed.contains("structuredContent"));
}

}  // namespace
}  // namespace fapo::mcp
