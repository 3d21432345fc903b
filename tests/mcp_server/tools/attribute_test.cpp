#include <doctest/doctest.h>

#include "engine/journal/journal.h"
#include "tests/mcp_server/tools/tool_test_support.h"

namespace fapo::mcp::testing {
namespace {

std::size_t replay_reports(ToolFixture& fixture) {
  std::size_t count = 0;
  for (const auto& report : fixture.progress.reports()) {
    count += report.message.rfind("replayed ", 0) == 0;
  }
  return count;
}

TEST_CASE("attribute explains a train run's failures with clusters, ceilings and case evidence") {
  ToolFixture fixture;
  const std::string run_id = fixture.finished_run("train");
  json result = fixture.call("attribute", {{"tenant_id", kTenant}, {"run_id", run_id}});
  REQUIRE_MESSAGE(result["isError"] == false, ToolFixture::text(result));
  const json& report = result["structuredContent"];
  CHECK(report["access"] == "full");
  CHECK(report["simulated"] == true);
  CHECK(report["failed_cases"].get<int>() > 0);
  REQUIRE_FALSE(report["clusters"].empty());
  CHECK(report["clusters"][0].contains("example_case_ids"));
  CHECK(report["ceilings"].size() == 3);
  CHECK(report["recommended_level"] == "prompt");
  REQUIRE_FALSE(report["attributions"].empty());
  const json& first = report["attributions"][0];
  CHECK_FALSE(first["evidence"].empty());
  CHECK(ToolFixture::text(result).find("Recommended level: prompt") != std::string::npos);
  // The simulator's record of its rules never reaches the optimiser.
  CHECK(report.dump().find("answer_verbose") == std::string::npos);
}

TEST_CASE("attribute caps the per-case list and counts what it left out") {
  ToolFixture fixture;
  const std::string run_id = fixture.finished_run("train");
  json result = fixture.call("attribute", {{"tenant_id", kTenant},
                                           {"run_id", run_id},
                                           {"max_attributions", 3},
                                           {"max_examples", 1}});
  const json& report = result["structuredContent"];
  CHECK(report["attributions"].size() == 3);
  CHECK(report["attributions_omitted"].get<int>() == report["failed_cases"].get<int>() - 3);
  for (const json& cluster : report["clusters"]) CHECK(cluster["example_case_ids"].size() == 1);
}

TEST_CASE("attribute gives validation runs counts and shares without case ids") {
  ToolFixture fixture;
  const std::string run_id = fixture.finished_run("validation");
  json result = fixture.call("attribute", {{"tenant_id", kTenant}, {"run_id", run_id}});
  REQUIRE_MESSAGE(result["isError"] == false, ToolFixture::text(result));
  const json& report = result["structuredContent"];
  CHECK(report["access"] == "aggregates_only");
  CHECK_FALSE(report.contains("attributions"));
  CHECK(report.dump().find("\"mh0") == std::string::npos);
  for (const json& cluster : report["clusters"]) {
    CHECK_FALSE(cluster.contains("example_case_ids"));
    CHECK(cluster["count"].get<int>() >= 5);
  }
}

TEST_CASE("attribute names the unknown run and rejects unknown arguments") {
  ToolFixture fixture;
  json unknown =
      fixture.call("attribute", {{"tenant_id", kTenant}, {"run_id", "r20990101-000000-abcdef"}});
  CHECK(unknown["isError"] == true);
  CHECK(ToolFixture::text(unknown).find("r20990101-000000-abcdef") != std::string::npos);
  json bad = fixture.call("attribute", {{"tenant_id", kTenant}, {"run_id", "x"}, {"level", 1}});
  CHECK(bad["isError"] == true);
  CHECK(ToolFixture::text(bad).find("unknown argument 'level'") != std::string::npos);
}

TEST_CASE("attribute with confirm replays failed cases and reports the rate per cluster") {
  ToolFixture fixture;
  const std::string run_id = fixture.finished_run("train");
  json result = fixture.call("attribute", {{"tenant_id", kTenant},
                                           {"run_id", run_id},
                                           {"confirm", true},
                                           {"max_cases", 6}});
  REQUIRE_MESSAGE(result["isError"] == false, ToolFixture::text(result));
  const json& report = result["structuredContent"];
  const json& confirmation = report["confirmation"];
  CHECK(confirmation["cases"] == 6);
  CHECK(confirmation["replays"] == 6);
  CHECK(confirmation["estimated_calls"].get<int>() >= confirmation["calls_spent"].get<int>());
  CHECK(confirmation["calls_spent"].get<int>() >= 6);
  std::size_t replays = 0;
  for (const json& cluster : report["clusters"]) {
    REQUIRE(cluster.contains("confirmation"));
    replays += cluster["confirmation"]["replays"].get<std::size_t>();
  }
  CHECK(replays == 6);
  CHECK(ToolFixture::text(result).find("Confirmation: ") != std::string::npos);
  CHECK(replay_reports(fixture) == 6);
  // The replays' calls are journaled so the budget can count them.
  auto workspace = Workspace::open(fixture.workspace());
  REQUIRE(workspace.ok());
  auto journal = Journal::open(workspace->journal_db_path(kTenant));
  REQUIRE(journal.ok());
  auto entries = (*journal)->entries("budget");
  REQUIRE(entries.ok());
  REQUIRE(entries->size() == 1);
  CHECK(entries->front().payload["purpose"] == "attribution_confirmation");
  CHECK(entries->front().payload["run_id"] == run_id);
  CHECK(entries->front().payload["calls"] == confirmation["calls_spent"]);
}

TEST_CASE("attribute offers no confirmation for validation runs") {
  ToolFixture fixture;
  const std::string run_id = fixture.finished_run("validation");
  json result =
      fixture.call("attribute", {{"tenant_id", kTenant}, {"run_id", run_id}, {"confirm", true}});
  CHECK(result["isError"] == true);
  CHECK(ToolFixture::text(result).find("train runs only") != std::string::npos);
}

TEST_CASE("attribute refuses a confirmation the budget cannot pay, before any replay") {
  ToolFixture fixture;
  const std::string run_id = fixture.finished_run("train");
  // The run spent 180 calls; 210 with a 10 % reserve leaves 9 for anything but the final test.
  const auto config_path = fixture.workspace() / "tenants" / kTenant / "tenant.json";
  json config = json::parse(fapo::testing::read_text(config_path));
  config["budget"] = {{"task_calls", 210}};
  fapo::testing::write_text(config_path, config.dump(2));
  json result = fixture.call("attribute", {{"tenant_id", kTenant},
                                           {"run_id", run_id},
                                           {"confirm", true},
                                           {"max_cases", 20}});
  CHECK(result["isError"] == true);
  const std::string text = ToolFixture::text(result);
  CHECK(text.find("Confirmation refused: replaying 20 cases") != std::string::npos);
  CHECK(text.find("Lower max_cases") != std::string::npos);
  CHECK(replay_reports(fixture) == 0);
}

}  // namespace
}  // namespace fapo::mcp::testing
