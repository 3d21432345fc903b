#include <doctest/doctest.h>

#include <fstream>

#include "tests/mcp_server/tools/tool_test_support.h"

namespace fapo::mcp {
namespace {

using nlohmann::json;
using testing::kTenant;
using testing::ToolFixture;

TEST_CASE("validate_tenant says the example tenant is valid, with its counts") {
  ToolFixture f;
  const json result = f.call("validate_tenant", {{"tenant_id", kTenant}});
  REQUIRE(result["isError"] == false);
  const json& content = result["structuredContent"];
  CHECK(content["valid"] == true);
  CHECK(content["problem_count"] == 0);
  CHECK(content["cases"] == 240);
  CHECK(content["corpus_passages"].get<int>() > 1000);
  CHECK(content["steps"][0] == "hop1 (retrieve)");
  CHECK(content["simulated"] == true);
  CHECK(ToolFixture::text(result).find("Tenant multihop_qa is valid: 240 cases (train ") == 0);
}

TEST_CASE("validate_tenant lists a bad dataset line with its file and line") {
  ToolFixture f;
  std::ofstream(f.workspace() / "tenants" / kTenant / "dataset.jsonl", std::ios::app)
      << "{\"case_id\": \"extra\", \"context\": {\"question\": 7}, \"expected\": {}}\n";
  const json result = f.call("validate_tenant", {{"tenant_id", kTenant}});
  REQUIRE(result["isError"] == false);
  const json& content = result["structuredContent"];
  CHECK(content["valid"] == false);
  REQUIRE(content["problem_count"].get<int>() >= 1);
  const json& problem = content["problems"][0];
  CHECK(problem["file"] == "tenants/multihop_qa/dataset.jsonl");
  CHECK(problem["line"] == 241);
  CHECK(problem["message"].get<std::string>().find("must be a string") != std::string::npos);
  CHECK(ToolFixture::text(result).find("Tenant multihop_qa has") == 0);
}

}  // namespace
}  // namespace fapo::mcp
