#include <doctest/doctest.h>

#include "engine/base/embedded_schemas.h"
#include "mcp_server/server/tool_runner.h"
#include "tests/mcp_server/mcp_test_support.h"

namespace fapo::mcp {
namespace {

using nlohmann::json;

class NoProgress : public ProgressSink {
 public:
  void report(double, std::optional<double>, std::string_view) override {}
};

// Calls list_tenants as tools/call would, over `workspace`.
class ListTenants {
 public:
  explicit ListTenants(const std::filesystem::path& workspace) : context_{workspace} {
    auto table = ToolTable::make(builtin_tools(), embedded_schemas());
    REQUIRE(table.ok());
    table_ = std::make_unique<ToolTable>(std::move(table).value());
  }
  json call(json arguments = json::object()) {
    ToolContext context{context_, progress_, cancel_};
    Reply reply = call_tool(*table_, json{{"name", "list_tenants"}, {"arguments", arguments}},
                            context, ToolCallLimits{kDefaultResultTokenBudget});
    REQUIRE_FALSE(reply.is_error());
    const json result = reply.result();
    if (result.contains("structuredContent")) {
      const RegisteredTool* tool = table_->find("list_tenants");
      CHECK(tool->output_validator.validate(result["structuredContent"]).empty());
    }
    return result;
  }

 private:
  ServerContext context_;
  NoProgress progress_;
  CancellationToken cancel_;
  std::unique_ptr<ToolTable> table_;
};

void write_tenant(const std::filesystem::path& workspace, const std::string& id,
                  const std::string& tenant_json) {
  fapo::testing::write_text(workspace / "tenants" / id / "tenant.json", tenant_json);
}

TEST_CASE(
    "lists tenants with their descriptions, sorted, ignoring directories without tenant.json") {
  fapo::testing::TempDir dir;
  write_tenant(dir.path(), "qa", R"({"tenant_id":"qa","description":"Multi-hop QA"})");
  write_tenant(dir.path(), "cwe", R"({"tenant_id":"cwe","scorer":{"type":"exact_match"}})");
  std::filesystem::create_directories(dir.path() / "tenants" / "not_a_tenant");
  const json result = ListTenants(dir.path()).call();
  CHECK(result["isError"] == false);
  const json& content = result["structuredContent"];
  CHECK(content["total"] == 2);
  CHECK(content["tenants"] == json::parse(R"([{"tenant_id":"cwe","description":""},
                                              {"tenant_id":"qa","description":"Multi-hop QA"}])"));
  const std::string text = result["content"][0]["text"];
  CHECK(text.find("2 tenants: cwe, qa.") == 0);
}

TEST_CASE("a tenant.json that is not JSON is listed with the problem and its line") {
  fapo::testing::TempDir dir;
  write_tenant(dir.path(), "broken", "{\n  \"tenant_id\": \"broken\",\n  oops\n}");
  const json tenants = ListTenants(dir.path()).call()["structuredContent"]["tenants"];
  REQUIRE(tenants.size() == 1);
  const std::string problem = tenants[0]["problem"];
  CHECK(problem.find("tenants/broken/tenant.json is not valid JSON") == 0);
  CHECK(problem.find("line 3") != std::string::npos);
}

TEST_CASE("descriptions are returned as data: control, ANSI and invisible characters stripped") {
  fapo::testing::TempDir dir;
  write_tenant(dir.path(), "x",
               R"({"description":"Safe\u001b[2J text\u200b with \u202eoverride\u0007"})");
  const json tenants = ListTenants(dir.path()).call()["structuredContent"]["tenants"];
  CHECK(tenants[0]["description"] == "Safe text with override");
}

TEST_CASE("pages with limit and cursor, and rejects a cursor from elsewhere with isError") {
  fapo::testing::TempDir dir;
  for (const char* id : {"a", "b", "c"}) write_tenant(dir.path(), id, "{}");
  ListTenants tool(dir.path());
  const json first = tool.call({{"limit", 2}})["structuredContent"];
  CHECK(first["tenants"].size() == 2);
  CHECK(first["total"] == 3);
  REQUIRE(first.contains("next_cursor"));
  const json second = tool.call({{"cursor", first["next_cursor"]}})["structuredContent"];
  REQUIRE(second["tenants"].size() == 1);
  CHECK(second["tenants"][0]["tenant_id"] == "c");
  CHECK_FALSE(second.contains("next_cursor"));

  const json bad = tool.call({{"cursor", "Zm9yZWlnbjox"}});
  CHECK(bad["isError"] == true);
  CHECK(bad["content"][0]["text"].get<std::string>().find("without a cursor") != std::string::npos);
}

TEST_CASE("an empty workspace lists no tenants and says how to add one") {
  fapo::testing::TempDir dir;
  const json result = ListTenants(dir.path()).call();
  CHECK(result["structuredContent"]["tenants"] == json::array());
  CHECK(result["content"][0]["text"].get<std::string>().find("No tenants") == 0);
}

TEST_CASE("a limit out of range is refused by the input schema") {
  fapo::testing::TempDir dir;
  const json result = ListTenants(dir.path()).call({{"limit", 0}});
  CHECK(result["isError"] == true);
  CHECK(result["content"][0]["text"].get<std::string>().find("argument 'limit'") !=
        std::string::npos);
}

}  // namespace
}  // namespace fapo::mcp
