#include <doctest/doctest.h>

#include "engine/run/evaluator.h"
#include "tests/engine/run/scripted_evaluator.h"
#include "tests/mcp_server/tools/tool_test_support.h"

namespace fapo::mcp {
namespace {

using nlohmann::json;
using testing::kTenant;
using testing::ToolFixture;

TEST_CASE("get_run waits for a run and returns its summary") {
  ToolFixture f;
  const std::string run_id = f.finished_run();
  const json result = f.call("get_run", {{"tenant_id", kTenant}, {"run_id", run_id}});
  REQUIRE(result["isError"] == false);
  const json& run = result["structuredContent"]["run"];
  CHECK(run["state"] == "complete");
  CHECK(run["done"] == 60);
  CHECK(run["summary"]["cases"] == 60);
  CHECK(result["structuredContent"]["next_step"].get<std::string>().find("Call list_cases") == 0);
  CHECK(ToolFixture::text(result).find("Run " + run_id + " (train, 60 cases x 1 trial) is complete") ==
        0);
}

TEST_CASE("get_run shows progress of a running run and stops waiting when the call is cancelled") {
  fapo::testing::ScriptedEvaluator evaluator;
  ToolFixture f(RunManagerOptions{2, 64, evaluator.function()});
  const json started = f.call("evaluate", {{"tenant_id", kTenant}});
  const std::string run_id = started["structuredContent"]["run"]["run_id"];
  evaluator.allow(run_id, 1);
  CancellationToken cancel;
  cancel.cancel();
  const json result =
      f.call("get_run", {{"tenant_id", kTenant}, {"run_id", run_id}, {"wait_seconds", 50}}, cancel);
  REQUIRE(result["isError"] == false);
  CHECK(result["structuredContent"]["run"]["state"] == "running");
  CHECK(ToolFixture::text(result).find("is running:") != std::string::npos);
  // Cancelling get_run stops the wait, never the run.
  CHECK_FALSE(evaluator.saw_cancel(run_id));
  evaluator.complete(run_id);
  const json done =
      f.call("get_run", {{"tenant_id", kTenant}, {"run_id", run_id}, {"wait_seconds", 50}});
  CHECK(done["structuredContent"]["run"]["state"] == "complete");
}

TEST_CASE("get_run names the latest runs when the run id is unknown") {
  ToolFixture f;
  const std::string run_id = f.finished_run();
  const json result =
      f.call("get_run", {{"tenant_id", kTenant}, {"run_id", "r20200101-000000-abcdef"}});
  CHECK(result["isError"] == true);
  CHECK(ToolFixture::text(result).find(run_id) != std::string::npos);
  const json malformed = f.call("get_run", {{"tenant_id", kTenant}, {"run_id", "latest"}});
  CHECK(malformed["isError"] == true);
}

TEST_CASE("get_run shows validation runs without case ids and refuses test runs") {
  ToolFixture f;
  const std::string validation = f.finished_run("validation");
  const json shown = f.call("get_run", {{"tenant_id", kTenant}, {"run_id", validation}});
  REQUIRE(shown["isError"] == false);
  CHECK(shown["structuredContent"]["run"]["summary"]["cases"] == 88);
  CHECK_FALSE(shown["structuredContent"]["run"]["summary"].contains("failed_case_examples"));

  auto workspace = Workspace::open(f.workspace());
  EvalRequest request;
  request.tenant_id = kTenant;
  request.split = "test";  // as `fapo eval --split test` would
  auto test_run = evaluate(*workspace, request);
  REQUIRE(test_run.ok());
  const json refused = f.call("get_run", {{"tenant_id", kTenant}, {"run_id", test_run->run_id}});
  CHECK(refused["isError"] == true);
  CHECK(ToolFixture::text(refused).find("Results of test runs are not available") == 0);
}

}  // namespace
}  // namespace fapo::mcp
