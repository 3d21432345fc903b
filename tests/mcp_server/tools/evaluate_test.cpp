#include <doctest/doctest.h>

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
  CHECK(started["structuredContent"]["waited_seconds"] == 0.0);
  CHECK(ToolFixture::text(started).find("Started. Run " + run["run_id"].get<std::string>()) == 0);
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
  CHECK(ToolFixture::text(result).find("evaluate does not run the test split") == 0);
  CHECK(ToolFixture::text(result).find("final_test") != std::string::npos);
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

TEST_CASE("evaluate reports a variant that changes a frozen setting without starting a run") {
  ToolFixture f;
  const auto variant = f.workspace() / "variants" / "hot";
  std::filesystem::create_directories(variant);
  std::filesystem::copy(f.workspace() / "tenants" / kTenant / "prompts", variant / "prompts");
  fapo::testing::write_text(variant / "chain.json", R"({"steps": [
    {"id": "answer", "kind": "llm", "prompt": "answer.md", "temperature": 0.0}],
    "output": "answer"})");
  const json result = f.call("evaluate", {{"tenant_id", kTenant}, {"variant_dir", "variants/hot"}});
  CHECK(result["isError"] == true);
  CHECK(ToolFixture::text(result).find("temperature") != std::string::npos);
  CHECK(f.runs().active_runs().empty());
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
