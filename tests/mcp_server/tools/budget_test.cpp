#include <doctest/doctest.h>

#include "tests/mcp_server/tools/tool_test_support.h"

namespace fapo::mcp {
namespace {

using nlohmann::json;
using testing::kTenant;
using testing::ToolFixture;

void set_budget(ToolFixture& f, const json& budget) {
  const auto file = f.workspace() / "tenants" / kTenant / "tenant.json";
  json config = json::parse(fapo::testing::read_text(file));
  config["budget"] = budget;
  fapo::testing::write_text(file, config.dump(2));
}

TEST_CASE("budget before any run shows the enforced caps, the reserve and nothing spent") {
  ToolFixture f;
  const json result = f.call("budget", {{"tenant_id", kTenant}});
  REQUIRE_MESSAGE(result["isError"] == false, ToolFixture::text(result));
  const json& content = result["structuredContent"];
  CHECK(content["enforced"] == true);
  CHECK(content["caps"]["task_calls"] == 20000);
  CHECK(content["caps"]["task_money"].is_null());  // no money cap
  CHECK(content["spent"]["calls"] == 0);
  CHECK(content["spent"]["model_calls"] == 0);
  CHECK(content["spent"]["variants"] == 0);
  CHECK(content["reserve"]["calls"] == 2000);  // 10 % kept for the final test
  CHECK(content["remaining"]["calls"] == 20000);
  CHECK(content["available_outside_reserve"]["calls"] == 18000);
  CHECK(content["remaining"]["validation_evaluations"] == 20);
  CHECK(content["validation_comparisons_left"].get<int>() > 3);
  CHECK(content["one_validation_evaluation"]["calls"].get<long long>() > 0);
  CHECK(content["warnings"].empty());
  CHECK(content["model"]["simulated"] == true);
  CHECK(ToolFixture::text(result).find("Enforced.") != std::string::npos);
}

TEST_CASE("budget counts runs, variants and journaled validation evaluations") {
  ToolFixture f;
  const std::string train = f.finished_run();
  f.finished_run("validation");
  REQUIRE(f.call("propose_variant", {{"tenant_id", kTenant},
                                     {"hypothesis", "more passages"},
                                     {"parameters", {{"hop1", {{"k", 4}}}}}})["isError"] == false);
  auto run = f.runs().snapshot(kTenant, train);
  REQUIRE(run.ok());
  const json content = f.call("budget", {{"tenant_id", kTenant}})["structuredContent"];
  const json& spent = content["spent"];
  CHECK(spent["runs"] == 2);
  CHECK(spent["runs_by_split"]["train"] == 1);
  CHECK(spent["validation_evaluations"] == 1);
  CHECK(spent["variants"] == 1);
  CHECK(spent["calls"].get<long long>() > run->summary->model_calls);
  CHECK(spent["calls"] == spent["model_calls"]);
  CHECK(content["remaining"]["validation_evaluations"] == 19);
  CHECK(content["remaining"]["variants"] == 29);
  CHECK(content["remaining"]["calls"] == 20000 - spent["calls"].get<long long>());
}

TEST_CASE("budget warns when the caps cannot pay for three tries") {
  ToolFixture f;
  set_budget(f, {{"variants", 2}, {"validation_evaluations", 1}});
  const json result = f.call("budget", {{"tenant_id", kTenant}});
  REQUIRE_MESSAGE(result["isError"] == false, ToolFixture::text(result));
  const json& warnings = result["structuredContent"]["warnings"];
  REQUIRE(warnings.size() == 2);
  CHECK(warnings[0].get<std::string>().find("budget.variants") != std::string::npos);
  CHECK(warnings[1].get<std::string>().find("budget.validation_evaluations") != std::string::npos);
  CHECK(result["structuredContent"]["validation_comparisons_left"] == 0);
  CHECK(ToolFixture::text(result).find("Warning: ") != std::string::npos);
}

TEST_CASE("budget refuses an unknown tenant with a suggestion") {
  ToolFixture f;
  const json result = f.call("budget", {{"tenant_id", "multihop"}});
  CHECK(result["isError"] == true);
  CHECK(ToolFixture::text(result).find("did you mean 'multihop_qa'") != std::string::npos);
}

}  // namespace
}  // namespace fapo::mcp
