// Loading a tenant whose chain has a react step: the tools it offers must be declared, tool
// names must be unique, and a run starts (and stops) the declared tools only for such chains.
#include "engine/run/tenant.h"

#include <doctest/doctest.h>

#include "engine/run/run_tools.h"
#include "engine/tools/tool_servers.h"
#include "tests/test_support.h"

namespace fapo {
namespace {

using nlohmann::json;
using testing::TempDir;
using testing::write_text;

// A react tenant offering `tools`, with a one-passage corpus and the given "tools" block.
void write_react_tenant(const fs::path& root, const json& tools_block,
                        const std::vector<std::string>& offered) {
  fs::path dir = root / "tenants" / "agent";
  fs::create_directories(dir / "prompts");
  write_text(dir / "tenant.json",
             json{{"tenant_id", "agent"},
                  {"scorer", {{"type", "exact_match"}, {"field", "answer"}}},
                  {"tools", tools_block}}.dump());
  write_text(dir / "chain.json",
             json{{"steps", {{{"id", "agent"}, {"kind", "react"}, {"prompt", "agent.md"},
                              {"tools", offered}}}}}.dump());
  write_text(dir / "prompts/agent.md", "User:\n${question}\n");
  write_text(dir / "corpus.jsonl",
             R"({"id": "p1", "title": "Orvell Bridge", "text": "It opened in 1887."})" "\n");
  write_text(dir / "dataset.jsonl",
             R"({"case_id": "c1", "context": {"question": "q"}, "expected": {"answer": "a"}})"
             "\n");
}

Result<Tenant> load(const TempDir& dir) {
  auto workspace = Workspace::open(dir.path());
  REQUIRE(workspace.ok());
  return load_tenant(*workspace, "agent");
}

json server(const std::string& name, const std::vector<std::string>& allowed) {
  return {{"name", name}, {"command", "python3"}, {"allowed_tools", allowed}};
}

TEST_CASE("react tenant: a tool the step offers but nothing declares fails the load, with a hint") {
  TempDir dir;
  write_react_tenant(dir.path(), {{"servers", {server("calc", {"get-sum"})}}},
                     {"search", "get_sum"});
  auto tenant = load(dir);
  REQUIRE(!tenant.ok());
  const std::string& message = tenant.error().message;
  CHECK(message.find("chain.json") != std::string::npos);
  CHECK(message.find("step 'agent'.tools[1]") != std::string::npos);
  CHECK(message.find("no tool 'get_sum' is declared (did you mean 'get-sum'?)") !=
        std::string::npos);
}

TEST_CASE("react tenant: the built-in search exists only with a corpus and while enabled") {
  TempDir dir;
  write_react_tenant(dir.path(), {{"search", false}}, {"search"});
  auto tenant = load(dir);
  REQUIRE(!tenant.ok());
  CHECK(tenant.error().message.find("no tool 'search' is declared") != std::string::npos);

  TempDir enabled;
  write_react_tenant(enabled.path(), json::object(), {"search"});
  CHECK(load(enabled).ok());
}

TEST_CASE("react tenant: a tool name served twice, or a server name used twice, fails the load") {
  TempDir dir;
  write_react_tenant(dir.path(),
                     {{"servers", {server("a", {"lookup", "search"}), server("a", {"lookup"})}}},
                     {"lookup"});
  auto tenant = load(dir);
  REQUIRE(!tenant.ok());
  const std::string& message = tenant.error().message;
  CHECK(message.find("tools.servers[0].allowed_tools") != std::string::npos);
  CHECK(message.find("tool 'search' is also provided by the built-in search") !=
        std::string::npos);
  CHECK(message.find("server name 'a' is used twice") != std::string::npos);
  CHECK(message.find("tool 'lookup' is also provided by server 'a'") != std::string::npos);
}

TEST_CASE("react tenant: runs start tools only for chains with a react step") {
  TempDir dir;
  write_react_tenant(dir.path(), json::object(), {"search"});
  auto tenant = load(dir);
  REQUIRE(tenant.ok());
  auto chain = CompiledChain::compile(tenant->baseline, "tenants/agent");
  REQUIRE(chain.ok());
  std::shared_ptr<ToolSet> tools = start_run_tools(*tenant, *chain, 2, {});
  REQUIRE(tools != nullptr);
  CHECK(tools->definition("search") != nullptr);
  CHECK(tools->unavailable().empty());

  PipelineConfig plain = tenant->baseline;
  plain.chain.steps[0].kind = StepKind::kLlm;
  auto plain_chain = CompiledChain::compile(plain, "tenants/agent");
  REQUIRE(plain_chain.ok());
  CHECK(start_run_tools(*tenant, *plain_chain, 2, {}) == nullptr);
}

TEST_CASE("react tenant: without a registered tool-server client, servers are unavailable, named") {
  set_tool_server_factory(nullptr);
  ToolsConfig config;
  config.search = false;
  ToolServerConfig calc;
  calc.name = "calc";
  calc.command = "python3";
  calc.allowed_tools = {"get-sum"};
  config.servers.push_back(calc);
  std::shared_ptr<ToolSet> tools = start_tools(config, nullptr, ToolServerLaunch{});
  REQUIRE(tools->unavailable().count("get-sum") == 1);
  CHECK(tools->unavailable().at("get-sum").find("tool server 'calc'") != std::string::npos);
  CHECK(tools->provider_of("get-sum") == nullptr);
}

}  // namespace
}  // namespace fapo
