// Against a real MCP server: @modelcontextprotocol/server-everything, installed with npm into
// tenants/tool_agent/node_modules (CI does this). Without it the test says so and is skipped.
// FAPO_EVERYTHING_TENANT_DIR may name another directory holding such a node_modules.
#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>

#include "tests/mcp_server/tool_servers/tool_server_test_support.h"

namespace fapo::mcp {
namespace {

using fapo::testing::TempDir;
using nlohmann::json;
using namespace fapo::mcp::testing;
using namespace std::chrono_literals;

constexpr char kServerScript[] =
    "node_modules/@modelcontextprotocol/server-everything/dist/index.js";

std::filesystem::path everything_tenant_dir() {
  if (const char* dir = std::getenv("FAPO_EVERYTHING_TENANT_DIR")) return dir;
  return fapo::testing::source_dir() / "tenants" / "tool_agent";
}

TEST_CASE("calls echo and get-sum on the real server-everything over stdio") {
  std::filesystem::path tenant_dir = everything_tenant_dir();
  if (!std::filesystem::exists(tenant_dir / kServerScript)) {
    MESSAGE("skipped: " << (tenant_dir / kServerScript).string()
                        << " is not installed (npm install @modelcontextprotocol/server-everything"
                           " in tenants/tool_agent)");
    return;
  }
  TempDir logs;
  Census before = take_census();
  {
    ToolServerConfig config;
    config.name = "everything";
    config.command = "node";
    config.args = {kServerScript, "stdio"};
    config.allowed_tools = {"echo", "get-sum"};
    config.startup_timeout_s = 20;
    ToolServerLaunch launch;
    launch.tenant_dir = tenant_dir;
    launch.log_path = logs.path() / "everything.log";
    McpToolProvider provider(config, launch, fast_options());
    REQUIRE_MESSAGE(!provider.start_error(), provider.start_error().value_or(""));
    REQUIRE(provider.tools().size() == 2);
    const ToolDefinition& echo = provider.tools()[0];
    CHECK(echo.name == "echo");
    CHECK_FALSE(echo.parameters.contains("$schema"));
    CHECK(echo.parameters["properties"]["message"]["type"] == "string");
    CHECK(provider.tools()[1].name == "get-sum");

    ToolResult echoed = provider.call("echo", {{"message", "orvell bridge"}}, 10s, no_context());
    CHECK(echoed.ok());
    CHECK(echoed.content == "Echo: orvell bridge");
    ToolResult sum = provider.call("get-sum", {{"a", 2}, {"b", 3}}, 10s, no_context());
    CHECK(sum.ok());
    CHECK(sum.content.find("is 5") != std::string::npos);
    ToolResult invalid = provider.call("get-sum", {{"a", "two"}}, 10s, no_context());
    CHECK(invalid.error_kind == ToolErrorKind::kInvalidArguments);
    ToolResult refused = provider.call("get-env", json::object(), 10s, no_context());
    CHECK(refused.error_kind == ToolErrorKind::kPermission);
  }
  CHECK(settled_census(before) == before);
}

}  // namespace
}  // namespace fapo::mcp
