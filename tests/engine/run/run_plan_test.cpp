#include "engine/run/run_plan.h"

#include <doctest/doctest.h>

namespace fapo {
namespace {

using nlohmann::json;

RunPlan sample_plan() {
  RunPlan plan;
  plan.run_id = "r20250102-030405-a1b2c3";
  plan.tenant_id = "qa";
  plan.variant_id = "v001";
  plan.split = "validation";
  plan.trials = 3;
  plan.case_ids = {"c1", "c2"};
  plan.settings = {{"model", {{"temperature", 1.0}}}, {"dataset_sha256", "ab12"}};
  plan.created_at = "2025-01-02T03:04:05.123Z";
  return plan;
}

TEST_CASE("a run plan survives a round trip through JSON") {
  RunPlan plan = sample_plan();
  auto back = run_plan_from_json(to_json(plan), "plan.json");
  REQUIRE(back.ok());
  CHECK(back->run_id == plan.run_id);
  CHECK(back->tenant_id == plan.tenant_id);
  CHECK(back->variant_id == plan.variant_id);
  CHECK(back->split == plan.split);
  CHECK(back->trials == 3);
  CHECK(back->case_ids == plan.case_ids);
  CHECK(back->settings == plan.settings);
  CHECK(back->created_at == plan.created_at);
}

TEST_CASE("names the file and the field of a malformed plan") {
  json missing = to_json(sample_plan());
  missing.erase("split");
  auto no_split = run_plan_from_json(missing, "runs/r1/plan.json");
  REQUIRE_FALSE(no_split.ok());
  CHECK(no_split.error().message == "runs/r1/plan.json: missing field 'split'");

  json wrong = to_json(sample_plan());
  wrong["trials"] = "three";
  auto bad_trials = run_plan_from_json(wrong, "plan.json");
  REQUIRE_FALSE(bad_trials.ok());
  CHECK(bad_trials.error().message == "plan.json: field 'trials' must be an integer, got string");

  json bad_case = to_json(sample_plan());
  bad_case["case_ids"][1] = 7;
  auto bad_ids = run_plan_from_json(bad_case, "plan.json");
  REQUIRE_FALSE(bad_ids.ok());
  CHECK(bad_ids.error().message == "plan.json: field 'case_ids[1]' must be a string, got number");
}

TEST_CASE("refuses a plan written by a newer format") {
  json future = to_json(sample_plan());
  future["format_version"] = 2;
  auto plan = run_plan_from_json(future, "plan.json");
  REQUIRE_FALSE(plan.ok());
  CHECK(plan.error().code == ErrorCode::kInvalidInput);
  CHECK(plan.error().message.find("format_version 2 is not supported") != std::string::npos);
}

}  // namespace
}  // namespace fapo
