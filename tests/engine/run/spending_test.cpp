#include "engine/run/spending.h"

#include <doctest/doctest.h>

#include "engine/run/run_store.h"
#include "tests/test_support.h"

namespace fapo {
namespace {

using nlohmann::json;

json result(const std::string& case_id, long long calls, long long tokens_in, long long tokens_out) {
  return json{{"case_id", case_id},       {"trial", 0},
              {"score", 100},             {"model_calls", calls},
              {"tokens_in", tokens_in},   {"tokens_out", tokens_out}};
}

RunPlan plan(std::string split, std::vector<std::string> cases) {
  RunPlan plan;
  plan.variant_id = "v001";
  plan.split = std::move(split);
  plan.case_ids = std::move(cases);
  return plan;
}

TEST_CASE("sums finished runs from their manifests and unfinished runs from their results") {
  testing::TempDir dir;
  auto workspace = Workspace::open(dir.path());
  REQUIRE(workspace.ok());
  RunStore store(*workspace, "qa");

  auto finished = store.create(plan("train", {"a", "b"}));
  REQUIRE(finished.ok());
  REQUIRE(finished->append_result(result("a", 3, 100, 10)).ok());
  REQUIRE(finished->append_result(result("b", 3, 100, 10)).ok());
  // The manifest's summary is what counts for a finished run (here deliberately different
  // from the lines, to show which one is read).
  REQUIRE(finished->finish(json{{"model_calls", 7}, {"tokens_in", 250}, {"tokens_out", 30},
                                {"cost", 0.5}, {"results", 2}},
                           "complete")
              .ok());

  auto running = store.create(plan("validation", {"c", "d"}));
  REQUIRE(running.ok());
  REQUIRE(running->append_result(result("c", 2, 1000000, 500000)).ok());

  auto spent = tally_spending(*workspace, "qa", ModelPrices{1.0, 4.0});
  REQUIRE(spent.ok());
  CHECK(spent->runs == 2);
  CHECK(spent->runs_by_split.at("train") == 1);
  CHECK(spent->runs_by_split.at("validation") == 1);
  CHECK(spent->results == 3);
  CHECK(spent->model_calls == 9);
  CHECK(spent->tokens_in == 1000250);
  CHECK(spent->tokens_out == 500030);
  CHECK(spent->cost == doctest::Approx(0.5 + 1.0 + 2.0));
  CHECK(spent->unreadable_runs == 0);
}

TEST_CASE("an unfinished run costs what its metered calls were charged, cached calls nothing") {
  testing::TempDir dir;
  auto workspace = Workspace::open(dir.path());
  REQUIRE(workspace.ok());
  RunStore store(*workspace, "qa");
  auto running = store.create(plan("train", {"a", "b", "c"}));
  REQUIRE(running.ok());
  // Three calls recorded in the trace, two of them answered from the response cache: the
  // provider charged one call's tokens.
  json metered = result("a", 3, 3000000, 300000);
  metered["usage"] = {{"task", {{"calls", 1}, {"cached", 2}, {"tokens_in", 1000000},
                                {"tokens_out", 100000}, {"cost", 1.4}}}};
  REQUIRE(running->append_result(metered).ok());
  json all_cached = result("b", 3, 3000000, 300000);
  all_cached["usage"] = {{"task", {{"calls", 0}, {"cached", 3}, {"cost", 0.0}}}};
  REQUIRE(running->append_result(all_cached).ok());
  // Written before usage was metered: priced from its tokens.
  REQUIRE(running->append_result(result("c", 1, 1000000, 0)).ok());

  auto spent = tally_spending(*workspace, "qa", ModelPrices{1.0, 4.0});
  REQUIRE(spent.ok());
  CHECK(spent->cost == doctest::Approx(1.4 + 1.0));
  CHECK(spent->model_calls == 7);  // calls count as recorded, cached ones included
  CHECK(spent->tokens_in == 7000000);
}

TEST_CASE("a tenant without runs has spent nothing") {
  testing::TempDir dir;
  auto workspace = Workspace::open(dir.path());
  REQUIRE(workspace.ok());
  auto spent = tally_spending(*workspace, "fresh", ModelPrices{});
  REQUIRE(spent.ok());
  CHECK(spent->runs == 0);
  CHECK(spent->model_calls == 0);
  CHECK(spent->runs_by_split.empty());
}

}  // namespace
}  // namespace fapo
