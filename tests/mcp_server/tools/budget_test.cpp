#include <doctest/doctest.h>

#include "tests/mcp_server/tools/tool_test_support.h"

namespace fapo::mcp {
namespace {

using nlohmann::json;
using testing::kTenant;
using testing::ToolFixture;

TEST_CASE("budget before any run shows the caps and nothing spent") {
  ToolFixture f;
  const json result = f.call("budget", {{"tenant_id", kTenant}});
  REQUIRE(result["isError"] == false);
  const json& content = result["structuredContent"];
  CHECK(content["enforced"] == false);
  CHECK(content["note"].get<std::string>().find("not enforced yet") != std::string::npos);
  CHECK(content["limits"]["task_calls"] == 20000);
  CHECK(content["spent"]["model_calls"] == 0);
  CHECK(content["remaining"]["task_calls"] == 18000);  // 10 % kept for the final test
  CHECK(content["remaining"]["task_money"].is_null());  // no money cap
  CHECK(content["estimate"]["validation_runs_left"].is_null());
  CHECK(content["model"]["simulated"] == true);
}

TEST_CASE("budget counts what the runs on disk spent") {
  ToolFixture f;
  const std::string train = f.finished_run();
  f.finished_run("validation");
  auto run = f.runs().snapshot(kTenant, train);
  REQUIRE(run.ok());
  const json result = f.call("budget", {{"tenant_id", kTenant}});
  const json& spent = result["structuredContent"]["spent"];
  CHECK(spent["runs"] == 2);
  CHECK(spent["runs_by_split"]["train"] == 1);
  CHECK(spent["validation_evaluations"] == 1);
  CHECK(spent["model_calls"].get<long long>() > run->summary->model_calls);
  CHECK(result["structuredContent"]["remaining"]["validation_evaluations"] == 19);
  const json& estimate = result["structuredContent"]["estimate"];
  CHECK(estimate["validation_runs_left"].get<int>() > 0);
  CHECK(estimate["validation_runs_left"].get<int>() <= 19);
  CHECK(ToolFixture::text(result).find("Caps are not enforced yet") != std::string::npos);
}

}  // namespace
}  // namespace fapo::mcp
