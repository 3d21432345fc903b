#include <doctest/doctest.h>

#include "tests/engine/run/scripted_evaluator.h"
#include "tests/mcp_server/tools/tool_test_support.h"

namespace fapo::mcp {
namespace {

using nlohmann::json;
using testing::kTenant;
using testing::ToolFixture;

TEST_CASE("cancel_run stops a running run, which keeps its results") {
  fapo::testing::ScriptedEvaluator evaluator;
  ToolFixture f(RunManagerOptions{2, 64, evaluator.function()});
  const json started = f.call("evaluate", {{"tenant_id", kTenant}});
  const std::string run_id = started["structuredContent"]["run"]["run_id"];
  evaluator.allow(run_id, 2);
  const json result = f.call("cancel_run", {{"tenant_id", kTenant}, {"run_id", run_id}});
  REQUIRE(result["isError"] == false);
  const json& content = result["structuredContent"];
  CHECK(content["stopped"] == true);
  CHECK(content["run"]["state"] == "cancelled");
  CHECK(evaluator.saw_cancel(run_id));
  CHECK(ToolFixture::text(result).find("was cancelled after") != std::string::npos);
}

TEST_CASE("cancel_run on a finished run changes nothing and says so") {
  ToolFixture f;
  const std::string run_id = f.finished_run();
  const json result = f.call("cancel_run", {{"tenant_id", kTenant}, {"run_id", run_id}});
  REQUIRE(result["isError"] == false);
  CHECK(result["structuredContent"]["run"]["state"] == "complete");
  CHECK(ToolFixture::text(result).find("Nothing to cancel") == 0);
}

TEST_CASE("cancel_run reports an unknown run as an error") {
  ToolFixture f;
  const json result =
      f.call("cancel_run", {{"tenant_id", kTenant}, {"run_id", "r20200101-000000-abcdef"}});
  CHECK(result["isError"] == true);
  CHECK(ToolFixture::text(result).find("r20200101-000000-abcdef") != std::string::npos);
}

}  // namespace
}  // namespace fapo::mcp
