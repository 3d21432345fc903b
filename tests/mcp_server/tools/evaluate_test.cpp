#include <doctest/doctest.h>

#include "engine/journal/journal.h"
#include "tests/engine/run/scripted_evaluator.h"
#include "tests/mcp_server/tools/tool_test_support.h"

namespace fapo::mcp {
namespace {

using nlohmann::json;
using testing::kTenant;
using testing::ToolFixture;

TEST_CASE("evaluate returns the run id at once and the run completes in the background") {
  ToolFixture f;
  const json started = f.call("evaluate", {{"tenant_id", kTenant}});
  REQUIRE_MESSAGE(started["isError"] == false, ToolFixture::text(started));
  const json& run = started["structuredContent"]["run"];
  CHECK(run["split"] == "train");
  CHECK(run["total"] == 60);
  CHECK(run["trials"] == 1);
  CHECK(started["structuredContent"]["variant"]["name"] == "v000");
  CHECK(started["structuredContent"]["variant"]["level"] == "baseline");
  CHECK(run["variant_id"] == started["structuredContent"]["variant"]["variant_id"]);
  CHECK(started["structuredContent"]["waited_seconds"] == 0.0);
  CHECK(ToolFixture::text(started).find("Started v000. Run " + run["run_id"].get<std::string>()) ==
        0);
  auto finished = f.runs().wait(kTenant, run["run_id"], std::chrono::seconds(60));
  REQUIRE(finished.ok());
  CHECK(finished->state == RunState::kComplete);
}

TEST_CASE("evaluate with wait_seconds reports increasing progress and returns the summary") {
  ToolFixture f;
  const json result =
      f.call("evaluate", {{"tenant_id", kTenant}, {"wait_seconds", 50}, {"trials", 2}});
  REQUIRE_MESSAGE(result["isError"] == false, ToolFixture::text(result));
  const json& run = result["structuredContent"]["run"];
  REQUIRE(run["state"] == "complete");
  CHECK(run["total"] == 120);
  CHECK(run["summary"]["trial_means"].size() == 2);
  CHECK(run["summary"]["simulated"] == true);
  CHECK(run["summary"]["mean"].get<double>() > 0);
  CHECK(run["summary"].contains("failed_case_examples"));
  CHECK(ToolFixture::text(result).find("is complete: mean") != std::string::npos);
  const auto reports = f.progress.reports();
  REQUIRE(reports.size() >= 2);
  CHECK(reports.front().message.find("started") != std::string::npos);
  for (std::size_t i = 1; i < reports.size(); ++i) {
    CHECK(reports[i].progress >= reports[i - 1].progress);
    CHECK(reports[i].total == 120.0);
  }
  CHECK(reports.back().progress == 120.0);
}

TEST_CASE("evaluate refuses the test split and names final_test") {
  ToolFixture f;
  const json result = f.call("evaluate", {{"tenant_id", kTenant}, {"split", "test"}});
  CHECK(result["isError"] == true);
  CHECK(ToolFixture::text(result).find("the test split is reachable only through final_test") ==
        0);
  CHECK(f.runs().active_runs().empty());
}

TEST_CASE("evaluate rejects unknown splits, unknown tenants and out-of-range trials") {
  ToolFixture f;
  const json split = f.call("evaluate", {{"tenant_id", kTenant}, {"split", "dev"}});
  CHECK(split["isError"] == true);
  CHECK(ToolFixture::text(split).find("unknown split 'dev'") == 0);
  const json tenant = f.call("evaluate", {{"tenant_id", "nope"}});
  CHECK(tenant["isError"] == true);
  CHECK(ToolFixture::text(tenant).find("unknown tenant 'nope'") == 0);
  const json trials = f.call("evaluate", {{"tenant_id", kTenant}, {"trials", 11}});
  CHECK(trials["isError"] == true);
  CHECK(ToolFixture::text(trials).find("argument 'trials'") != std::string::npos);
}

// Proposes a parameter variant through propose_variant; returns its name.
std::string propose(ToolFixture& f) {
  const json proposed = f.call("propose_variant", {{"tenant_id", kTenant},
                                                   {"hypothesis", "more passages"},
                                                   {"parameters", {{"hop1", {{"k", 4}}}}}});
  REQUIRE_MESSAGE(proposed["isError"] == false, ToolFixture::text(proposed));
  return proposed["structuredContent"]["name"];
}

std::vector<JournalEntry> journaled_runs(ToolFixture& f) {
  auto workspace = Workspace::open(f.workspace());
  REQUIRE(workspace.ok());
  auto journal = Journal::open(workspace->journal_db_path(kTenant));
  REQUIRE(journal.ok());
  auto runs = (*journal)->entries("run");
  REQUIRE(runs.ok());
  return *runs;
}

TEST_CASE("evaluate runs a stored variant named by name, says which, and journals the run") {
  ToolFixture f;
  const std::string name = propose(f);
  const json result =
      f.call("evaluate", {{"tenant_id", kTenant}, {"variant", name}, {"wait_seconds", 50}});
  REQUIRE_MESSAGE(result["isError"] == false, ToolFixture::text(result));
  const json& variant = result["structuredContent"]["variant"];
  CHECK(variant["name"] == name);
  CHECK(variant["level"] == "parameter");
  const json& run = result["structuredContent"]["run"];
  CHECK(run["variant_id"] == variant["variant_id"]);
  CHECK(run["state"] == "complete");
  CHECK(run["summary"]["usage"]["task"]["cached"] == 0);  // the simulated model is never cached
  CHECK(run["summary"]["cached_calls"] == 0);
  const auto runs = journaled_runs(f);
  REQUIRE(runs.size() == 1);
  CHECK(runs[0].payload["run_id"] == run["run_id"]);
  CHECK(runs[0].payload["variant_id"] == variant["variant_id"]);
  CHECK(runs[0].payload["split"] == "train");
  CHECK(runs[0].payload["purpose"] == "train");
}

TEST_CASE("evaluate refuses validation for a variant without a passing review") {
  ToolFixture f;
  const std::string name = propose(f);
  const json result =
      f.call("evaluate", {{"tenant_id", kTenant}, {"split", "validation"}, {"variant", name}});
  CHECK(result["isError"] == true);
  CHECK(ToolFixture::text(result).find("has not been reviewed") != std::string::npos);
  CHECK(ToolFixture::text(result).find("review_variant") != std::string::npos);
  CHECK(f.runs().active_runs().empty());
  CHECK(journaled_runs(f).empty());
}

TEST_CASE("the baseline is evaluated on validation without a review and counts as one") {
  ToolFixture f;
  const json result = f.call("evaluate", {{"tenant_id", kTenant}, {"split", "validation"}});
  REQUIRE_MESSAGE(result["isError"] == false, ToolFixture::text(result));
  CHECK(result["structuredContent"]["variant"]["name"] == "v000");
  const auto runs = journaled_runs(f);
  REQUIRE(runs.size() == 1);
  CHECK(runs[0].payload["purpose"] == "validation");
  f.runs().shutdown();
}

TEST_CASE("evaluate refuses a run the budget cannot pay before it starts") {
  ToolFixture f;
  const auto file = f.workspace() / "tenants" / kTenant / "tenant.json";
  json config = json::parse(fapo::testing::read_text(file));
  config["budget"] = {{"task_calls", 200}};
  fapo::testing::write_text(file, config.dump(2));
  const json result = f.call("evaluate", {{"tenant_id", kTenant}, {"trials", 2}});
  CHECK(result["isError"] == true);
  const std::string text = ToolFixture::text(result);
  CHECK(text.find("budget:") == 0);
  CHECK(text.find("task-model calls") != std::string::npos);
  CHECK(text.find("The budget tool shows what is left.") != std::string::npos);
  CHECK(f.runs().active_runs().empty());
}

TEST_CASE("evaluate names an unknown variant and where to find the variants") {
  ToolFixture f;
  const json result = f.call("evaluate", {{"tenant_id", kTenant}, {"variant", "v042"}});
  CHECK(result["isError"] == true);
  CHECK(ToolFixture::text(result).find("v042") != std::string::npos);
  CHECK(ToolFixture::text(result).find("history") != std::string::npos);
}

TEST_CASE("evaluate passes the cache mode to the run") {
  ToolFixture f;
  const json result = f.call(
      "evaluate", {{"tenant_id", kTenant}, {"cache_mode", "off"}, {"wait_seconds", 50}});
  REQUIRE_MESSAGE(result["isError"] == false, ToolFixture::text(result));
  REQUIRE(result["structuredContent"]["run"]["state"] == "complete");
  CHECK(result["structuredContent"]["run"]["summary"]["cache_mode"] == "off");
}

TEST_CASE("cancelling a waiting evaluate call cancels the run it started") {
  fapo::testing::ScriptedEvaluator evaluator;
  ToolFixture f(RunManagerOptions{2, 64, evaluator.function()});
  CancellationToken cancel;
  cancel.cancel();  // as if notifications/cancelled arrived while the call waits
  const json result = f.call("evaluate", {{"tenant_id", kTenant}, {"wait_seconds", 50}}, cancel);
  CHECK(result["isError"] == true);
  CHECK(ToolFixture::text(result).find("was cancelled too") != std::string::npos);
  const std::string run_id = "r20260101-000000-000001";
  auto run = f.runs().wait(kTenant, run_id, std::chrono::seconds(60));
  REQUIRE(run.ok());
  CHECK(run->state == RunState::kCancelled);
  CHECK(evaluator.saw_cancel(run_id));
}

TEST_CASE("a third evaluate while two runs go is refused with what to do") {
  fapo::testing::ScriptedEvaluator evaluator;
  ToolFixture f(RunManagerOptions{2, 64, evaluator.function()});
  CHECK(f.call("evaluate", {{"tenant_id", kTenant}})["isError"] == false);
  CHECK(f.call("evaluate", {{"tenant_id", kTenant}})["isError"] == false);
  const json third = f.call("evaluate", {{"tenant_id", kTenant}});
  CHECK(third["isError"] == true);
  const std::string text = ToolFixture::text(third);
  CHECK(text.find("at most 2 evaluations run at once") != std::string::npos);
  CHECK(text.find("cancel_run") != std::string::npos);
  f.runs().shutdown();
}

}  // namespace
}  // namespace fapo::mcp
