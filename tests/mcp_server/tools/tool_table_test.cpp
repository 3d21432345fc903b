#include "mcp_server/tools/tool_table.h"

#include <doctest/doctest.h>

#include "engine/base/embedded_schemas.h"
#include "tests/mcp_server/mcp_test_support.h"

namespace fapo::mcp {
namespace {

using nlohmann::json;

TEST_CASE("every built-in tool has compiling input and output schemas and model-facing text") {
  auto table = ToolTable::make(builtin_tools(), embedded_schemas());
  REQUIRE_MESSAGE(table.ok(), (table.ok() ? "" : table.error().message));
  REQUIRE_FALSE(table->tools().empty());
  for (const RegisteredTool& tool : table->tools()) {
    CAPTURE(tool.spec.name);
    CHECK(tool.spec.name.size() <= 32);
    CHECK(tool.spec.name.find_first_not_of("abcdefghijklmnopqrstuvwxyz_") == std::string::npos);
    CHECK_FALSE(tool.spec.title.empty());
    CHECK(tool.spec.description.size() >= 80);
    CHECK(tool.spec.handler);
    CHECK(tool.input_schema["type"] == "object");
    CHECK(tool.output_schema["type"] == "object");
    CHECK_FALSE(tool.spec.hints.open_world);
  }
}

TEST_CASE("a tool whose schema file is missing stops the table with the file name") {
  std::vector<ToolSpec> specs{testing::make_tool("orphan", nullptr)};
  auto table = ToolTable::make(specs, SchemaFiles{});
  REQUIRE_FALSE(table.ok());
  CHECK(table.error().message.find("schemas/tool_orphan.input.json is missing") !=
        std::string::npos);
}

TEST_CASE("a schema that is not JSON, or not an object schema, is refused") {
  std::vector<ToolSpec> specs{testing::make_tool("t", nullptr)};
  auto not_json = ToolTable::make(specs, testing::schemas_for(specs, {{"tool_t.input.json", "{"}}));
  REQUIRE_FALSE(not_json.ok());
  CHECK(not_json.error().message.find("tool_t.input.json is not a JSON object") !=
        std::string::npos);
  auto not_object = ToolTable::make(
      specs, testing::schemas_for(specs, {{"tool_t.output.json", R"({"type":"array"})"}}));
  REQUIRE_FALSE(not_object.ok());
  CHECK(not_object.error().message.find("must have type object") != std::string::npos);
}

TEST_CASE("two tools with one name are refused") {
  std::vector<ToolSpec> specs{testing::make_tool("same", nullptr),
                              testing::make_tool("same", nullptr)};
  auto table = ToolTable::make(specs, testing::schemas_for(specs));
  REQUIRE_FALSE(table.ok());
  CHECK(table.error().message.find("two tools are named 'same'") != std::string::npos);
}

TEST_CASE("argument checks name nested paths and list the accepted arguments") {
  std::vector<ToolSpec> specs{testing::make_tool("t", nullptr)};
  auto table =
      ToolTable::make(specs, testing::schemas_for(specs, {{"tool_t.input.json",
                                                           R"({"type":"object","properties":{
                               "edits":{"type":"array","items":{"type":"object",
                                 "properties":{"text":{"type":"string"}}}},
                               "note":{"type":"string"}}})"}}));
  REQUIRE(table.ok());
  const RegisteredTool& tool = table->tools()[0];
  CHECK_FALSE(ToolTable::check_arguments(tool, json{{"note", "x"}}).has_value());
  auto problem = ToolTable::check_arguments(tool, json{{"edits", {{{"text", 5}}}}});
  REQUIRE(problem.has_value());
  CHECK(problem->find("argument 'edits[0].text'") != std::string::npos);
  CHECK(problem->find("Accepted arguments: edits (array), note (string)") != std::string::npos);
  CHECK(problem->find("call t again") != std::string::npos);
}

}  // namespace
}  // namespace fapo::mcp
