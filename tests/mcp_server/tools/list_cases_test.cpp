#include <doctest/doctest.h>

#include <set>

#include "engine/run/evaluator.h"
#include "tests/mcp_server/tools/tool_test_support.h"

namespace fapo::mcp {
namespace {

using nlohmann::json;
using testing::kTenant;
using testing::ToolFixture;

TEST_CASE("list_cases pages through every case of a train run exactly once") {
  ToolFixture f;
  const std::string run_id = f.finished_run();
  std::set<std::string> seen;
  std::size_t pages = 0;
  json arguments{{"tenant_id", kTenant}, {"run_id", run_id}, {"limit", 25}};
  while (true) {
    const json result = f.call("list_cases", arguments);
    REQUIRE_MESSAGE(result["isError"] == false, ToolFixture::text(result));
    const json& content = result["structuredContent"];
    CHECK(content["access"] == "full");
    CHECK(content["total"] == 60);
    for (const json& entry : content["cases"]) {
      CHECK(seen.insert(entry["case_id"].get<std::string>()).second);
      CHECK(entry["failed"] == (entry["score"].get<double>() < 100));
    }
    ++pages;
    if (!content.contains("next_cursor")) break;
    arguments["cursor"] = content["next_cursor"];
  }
  CHECK(pages == 3);
  CHECK(seen.size() == 60);
}

TEST_CASE("list_cases with failed_only lists exactly the failed cases") {
  ToolFixture f;
  const std::string run_id = f.finished_run();
  const json all = f.call("list_cases", {{"tenant_id", kTenant}, {"run_id", run_id}, {"limit", 100}});
  std::size_t failed = 0;
  for (const json& entry : all["structuredContent"]["cases"]) failed += entry["failed"] ? 1 : 0;
  REQUIRE(failed > 0);  // the baseline of the example tenant fails about two cases in three
  const json only = f.call("list_cases", {{"tenant_id", kTenant}, {"run_id", run_id},
                                          {"failed_only", true}, {"limit", 100}});
  const json& content = only["structuredContent"];
  CHECK(content["total"] == failed);
  CHECK(content["failed_total"] == failed);
  for (const json& entry : content["cases"]) CHECK(entry["failed"] == true);
  CHECK(ToolFixture::text(only).find(std::to_string(failed) + " of 60 cases failed") == 0);
  // A cursor of one listing is refused by the other.
  const json page = f.call("list_cases", {{"tenant_id", kTenant}, {"run_id", run_id}, {"limit", 1}});
  const json mixed = f.call("list_cases", {{"tenant_id", kTenant}, {"run_id", run_id},
                                           {"failed_only", true},
                                           {"cursor", page["structuredContent"]["next_cursor"]}});
  CHECK(mixed["isError"] == true);
}

TEST_CASE("list_cases on a validation run gives aggregates only, with the reason") {
  ToolFixture f;
  const std::string run_id = f.finished_run("validation");
  const json result = f.call("list_cases", {{"tenant_id", kTenant}, {"run_id", run_id}});
  REQUIRE(result["isError"] == false);
  const json& content = result["structuredContent"];
  CHECK(content["access"] == "aggregates_only");
  CHECK_FALSE(content.contains("cases"));
  CHECK(content["reason"].get<std::string>().find("Validation runs decide") == 0);
  const json& aggregates = content["aggregates"];
  CHECK(aggregates["cases"] == 88);
  std::size_t grouped = aggregates["unlisted_cases"].get<std::size_t>();
  for (const json& group : aggregates["by_task_type"]) {
    CHECK(group["cases"].get<int>() >= 5);
    grouped += group["cases"].get<std::size_t>();
  }
  CHECK(grouped == 88);
  // No case id of the validation split appears anywhere in the answer.
  CHECK(result.dump().find("\"mh0") == std::string::npos);
  CHECK(ToolFixture::text(result).find("aggregates only") != std::string::npos);
}

TEST_CASE("list_cases refuses test runs") {
  ToolFixture f;
  auto workspace = Workspace::open(f.workspace());
  EvalRequest request;
  request.tenant_id = kTenant;
  request.split = "test";
  auto run = evaluate(*workspace, request);
  REQUIRE(run.ok());
  const json result = f.call("list_cases", {{"tenant_id", kTenant}, {"run_id", run->run_id}});
  CHECK(result["isError"] == true);
  CHECK(ToolFixture::text(result).find("final_test") != std::string::npos);
}

}  // namespace
}  // namespace fapo::mcp
