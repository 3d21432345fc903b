#include "engine/run/case_outcomes.h"

#include <doctest/doctest.h>

#include "tests/test_support.h"

namespace fapo {
namespace {

using nlohmann::json;

struct Fixture {
  testing::TempDir temp;
  Workspace workspace = *Workspace::open(temp.path());
  RunStore store{workspace, "qa"};

  RunWriter create(std::vector<std::string> cases, int trials) {
    RunPlan plan;
    plan.variant_id = "v001";
    plan.split = "train";
    plan.trials = trials;
    plan.case_ids = std::move(cases);
    auto writer = store.create(std::move(plan));
    REQUIRE(writer.ok());
    return std::move(*writer);
  }
};

json scored(const std::string& case_id, int trial, double score, std::string output) {
  return json{{"case_id", case_id}, {"trial", trial}, {"score", score},
              {"final_output", std::move(output)}};
}

TEST_CASE("folds trials into one outcome per case, in plan order, skipping cases without results") {
  Fixture f;
  RunWriter writer = f.create({"c1", "c2", "c3", "c4"}, 2);
  REQUIRE(writer.append_result(scored("c2", 1, 0, "second trial")).ok());
  REQUIRE(writer.append_result(scored("c1", 0, 100, "Paris")).ok());
  REQUIRE(writer.append_result(scored("c1", 1, 100, "Paris")).ok());
  REQUIRE(writer.append_result(scored("c2", 0, 100, "first trial")).ok());
  REQUIRE(writer.append_result(json{{"case_id", "c3"}, {"trial", 0}, {"score", nullptr},
                                    {"infrastructure_failure", true},
                                    {"error", "HTTP 503 after 4 retries"},
                                    {"final_output", ""}})
              .ok());
  auto outcomes = read_case_outcomes(f.store, writer.plan());
  REQUIRE(outcomes.ok());
  REQUIRE(outcomes->size() == 3);
  const CaseOutcome& c1 = (*outcomes)[0];
  const CaseOutcome& c2 = (*outcomes)[1];
  const CaseOutcome& c3 = (*outcomes)[2];
  CHECK(c1.case_id == "c1");
  CHECK_FALSE(c1.failed);
  CHECK(c1.mean == doctest::Approx(100));
  CHECK(c2.case_id == "c2");
  CHECK(c2.failed);
  CHECK(c2.mean == doctest::Approx(50));
  CHECK(c2.trial_scores[0] == 100.0);
  CHECK(c2.trial_scores[1] == 0.0);
  // The output shown is the lowest trial's, even though trial 1 finished first.
  CHECK(c2.output_trial == 0);
  CHECK(c2.final_output == "first trial");
  CHECK(c3.failed);
  CHECK(c3.infrastructure_failure);
  CHECK(c3.scored == 0);
  CHECK(c3.error == "HTTP 503 after 4 retries");
  CHECK_FALSE(c3.trial_scores[0].has_value());
}

TEST_CASE("a score below full marks fails the case; a scorer error fails it too") {
  Fixture f;
  RunWriter writer = f.create({"a", "b"}, 1);
  REQUIRE(writer.append_result(scored("a", 0, 99.5, "almost")).ok());
  REQUIRE(writer.append_result(json{{"case_id", "b"}, {"trial", 0}, {"score", nullptr},
                                    {"scorer_error", "scorer crashed"}})
              .ok());
  auto outcomes = read_case_outcomes(f.store, writer.plan());
  REQUIRE(outcomes.ok());
  CHECK((*outcomes)[0].failed);
  CHECK((*outcomes)[1].failed);
  CHECK((*outcomes)[1].scorer_failure);
  CHECK((*outcomes)[1].error == "scorer crashed");
}

TEST_CASE("read_case_result finds one trial and explains what is missing") {
  Fixture f;
  RunWriter writer = f.create({"mh0001", "mh0002"}, 2);
  REQUIRE(writer.append_result(scored("mh0001", 1, 100, "x")).ok());
  auto found = read_case_result(f.store, writer.plan(), "mh0001", 1);
  REQUIRE(found.ok());
  CHECK((*found)["final_output"] == "x");

  auto typo = read_case_result(f.store, writer.plan(), "mh001", 0);
  REQUIRE_FALSE(typo.ok());
  CHECK(typo.error().code == ErrorCode::kNotFound);
  CHECK(typo.error().message.find("did you mean 'mh0001'") != std::string::npos);

  auto trial = read_case_result(f.store, writer.plan(), "mh0001", 2);
  REQUIRE_FALSE(trial.ok());
  CHECK(trial.error().message.find("trials 0..1") != std::string::npos);

  auto pending = read_case_result(f.store, writer.plan(), "mh0002", 0);
  REQUIRE_FALSE(pending.ok());
  CHECK(pending.error().message.find("has no result yet") != std::string::npos);
}

}  // namespace
}  // namespace fapo
