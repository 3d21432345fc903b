#include "engine/run/case_access.h"

#include <doctest/doctest.h>

#include "tests/test_support.h"

namespace fapo {
namespace {

CaseOutcome outcome(std::string id, double mean, bool failed) {
  CaseOutcome out;
  out.case_id = std::move(id);
  out.results = 1;
  out.scored = 1;
  out.mean = mean;
  out.failed = failed;
  return out;
}

TEST_CASE("train runs are open, validation runs give aggregates, test and unknown splits nothing") {
  CHECK(case_access_for("train") == CaseAccess::kFull);
  CHECK(case_access_for("validation") == CaseAccess::kAggregatesOnly);
  CHECK(case_access_for("test") == CaseAccess::kNone);
  CHECK(case_access_for("Train") == CaseAccess::kNone);
  CHECK(case_access_for("") == CaseAccess::kNone);
}

TEST_CASE("refusals say why: validation decides, test is for final_test") {
  CHECK(check_case_access("train", "Cases").ok());

  Status validation = check_case_access("validation", "Individual cases");
  REQUIRE_FALSE(validation.ok());
  CHECK(validation.error().code == ErrorCode::kInvalidInput);
  CHECK(validation.error().message.find("Individual cases of validation runs are not available") == 0);
  CHECK(validation.error().message.find("only means and counts") != std::string::npos);

  Status test = check_case_access("test", "Cases");
  REQUIRE_FALSE(test.ok());
  CHECK(test.error().message.find("through final_test") != std::string::npos);

  CHECK(check_aggregate_access("validation", "Results").ok());
  Status test_aggregates = check_aggregate_access("test", "Results");
  REQUIRE_FALSE(test_aggregates.ok());
  CHECK(test_aggregates.error().message.find("Results of test runs are not available") == 0);
  CHECK_FALSE(check_aggregate_access("holdout", "Results").ok());
}

TEST_CASE("aggregates break out groups of at least five cases and fold the smaller ones") {
  std::vector<CaseOutcome> outcomes;
  std::map<std::string, std::string> group_of;
  for (int i = 0; i < 6; ++i) {  // "big": 6 cases, 2 failed
    const std::string id = "b" + std::to_string(i);
    outcomes.push_back(outcome(id, i < 2 ? 0 : 100, i < 2));
    group_of[id] = "big";
  }
  for (int i = 0; i < 3; ++i) {  // "small": 3 cases, all failed
    const std::string id = "s" + std::to_string(i);
    outcomes.push_back(outcome(id, 0, true));
    group_of[id] = "small";
  }
  outcomes.push_back(outcome("orphan", 100, false));  // not in the dataset any more

  const RunAggregates aggregates = aggregate_outcomes(outcomes, group_of);
  CHECK(aggregates.cases == 10);
  CHECK(aggregates.failed_cases == 5);
  CHECK(aggregates.full_marks_cases == 5);
  CHECK(aggregates.mean == doctest::Approx(50.0));
  REQUIRE(aggregates.groups.size() == 1);
  CHECK(aggregates.groups[0].name == "big");
  CHECK(aggregates.groups[0].cases == 6);
  CHECK(aggregates.groups[0].failed_cases == 2);
  CHECK(aggregates.groups[0].mean == doctest::Approx(400.0 / 6));
  CHECK(aggregates.unlisted_groups == 2);  // "small" and "unknown"
  CHECK(aggregates.unlisted_cases == 4);
}

TEST_CASE("task types come from the tenant's dataset, for the cases asked about") {
  testing::TempDir dir;
  testing::copy_tenant("multihop_qa", dir.path());
  auto workspace = Workspace::open(dir.path());
  REQUIRE(workspace.ok());
  auto types = task_types_of(*workspace, "multihop_qa", {"mh0001", "mh0002", "nope"});
  REQUIRE(types.ok());
  CHECK(types->size() == 2);
  CHECK(types->at("mh0001") == "bridge_person_city");
  CHECK(types->at("mh0002") == "bridge_city_river");
}

}  // namespace
}  // namespace fapo
