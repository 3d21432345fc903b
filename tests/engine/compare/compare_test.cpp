#include "engine/compare/compare.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "engine/run/evaluator.h"
#include "engine/run/run_store.h"
#include "tests/test_support.h"

namespace fapo {
namespace {

using nlohmann::json;
using testing::TempDir;

const std::string kCandidate(64, 'c');
const std::string kIncumbent(64, 'a');

json base_settings() {
  return {{"model", {{"provider", "sim"}, {"model", "sim-1"}, {"temperature", 1.0}}},
          {"scorer", {{"type", "exact_match"}, {"field", "answer"}}},
          {"split_fingerprint", "f1"},
          {"dataset_sha256", "d1"}};
}

// How a written run departs from the ordinary.
struct RunExtras {
  json settings = base_settings();
  std::string infrastructure_failure;  // case id failing in trial 0
  bool finish = true;
};

// Writes a run directly through the run store, so scores are exactly what the test says.
// `scores` is [trial][case].
std::string write_run(const Workspace& workspace, const std::string& variant_id,
                      const std::vector<std::string>& cases,
                      const std::vector<std::vector<double>>& scores,
                      const RunExtras& extras = RunExtras()) {
  RunStore store(workspace, "qa");
  RunPlan plan;
  plan.variant_id = variant_id;
  plan.split = "validation";
  plan.trials = static_cast<int>(scores.size());
  plan.case_ids = cases;
  plan.settings = extras.settings;
  plan.settings["pipeline_hash"] = variant_id;
  auto writer = store.create(plan);
  REQUIRE(writer.ok());
  for (std::size_t trial = 0; trial < scores.size(); ++trial) {
    for (std::size_t i = 0; i < cases.size(); ++i) {
      json line = {{"case_id", cases[i]}, {"trial", trial}};
      if (trial == 0 && cases[i] == extras.infrastructure_failure) {
        line["infrastructure_failure"] = true;
        line["score"] = nullptr;
      } else {
        line["score"] = scores[trial][i];
        line["breakdown"] = {{"exact", scores[trial][i] / 100}};
      }
      REQUIRE(writer->append_result(line).ok());
    }
  }
  if (extras.finish) REQUIRE(writer->finish(json::object(), "complete").ok());
  return writer->plan().run_id;
}

CompareRequest request_for(int trials = 3, double min_effect = 2.0) {
  CompareRequest request;
  request.tenant_id = "qa";
  request.candidate_id = kCandidate;
  request.incumbent_id = kIncumbent;
  request.split = "validation";
  request.acceptance.trials = trials;
  request.acceptance.min_effect = min_effect;
  request.seed = 7;
  return request;
}

Workspace open_workspace(const TempDir& dir) {
  auto workspace = Workspace::open(dir.path());
  REQUIRE(workspace.ok());
  return *workspace;
}

TEST_CASE("averages every trial of every complete run and pairs the differences by case") {
  TempDir dir;
  Workspace workspace = open_workspace(dir);
  const std::string first =
      write_run(workspace, kCandidate, {"c1", "c2", "c3", "c4"}, {{100, 100, 0, 100}});
  const std::string second = write_run(workspace, kCandidate, {"c4", "c3", "c2", "c1"},
                                       {{100, 0, 100, 100}, {0, 0, 100, 100}});
  write_run(workspace, kIncumbent, {"c1", "c2", "c3", "c4"},
            {{0, 100, 0, 100}, {0, 100, 0, 100}, {0, 100, 0, 100}});
  auto comparison = compare_variants(workspace, request_for(3, 0.0));
  REQUIRE(comparison.ok());
  // Candidate per case: c1 100, c2 100, c3 0, c4 200/3; incumbent: 0, 100, 0, 100.
  CHECK(comparison->mean_difference == doctest::Approx((100 + 0 + 0 - 100.0 / 3) / 4));
  CHECK(comparison->cases == 4);
  CHECK(comparison->improved == 1);
  CHECK(comparison->regressed == 1);
  CHECK(comparison->unchanged == 2);
  CHECK(comparison->candidate.trials == 3);
  CHECK(comparison->candidate.run_ids == std::vector<std::string>{first, second});
  CHECK(comparison->incumbent.trials == 3);
  // Two non-zero differences (+100, -33.3): sums +66.7, -133.3, +133.3, -66.7 -> p = 2/4.
  CHECK(comparison->p_value == doctest::Approx(0.5));
  CHECK_FALSE(comparison->accepted);
  CHECK(comparison->reason.find("not significant") != std::string::npos);
  CHECK(comparison->breakdown_deltas.at("exact") ==
        doctest::Approx(comparison->mean_difference / 100));
  // Per-trial means of the candidate: 75, 75, 50 -> spread; the incumbent's are all 50.
  CHECK(comparison->candidate.trial_means == std::vector<double>{75, 75, 50});
  CHECK(comparison->noise_floor > 0);
  const json report = to_json(*comparison);
  CHECK(report["decision"] == "reject");
  CHECK(report["interval"].size() == 2);
  CHECK(report["run_ids"]["candidate"].size() == 2);
}

TEST_CASE("accepts a large, consistent gain and says so") {
  TempDir dir;
  Workspace workspace = open_workspace(dir);
  std::vector<std::string> cases;
  std::vector<double> good;
  std::vector<double> bad;
  for (int i = 0; i < 30; ++i) {
    cases.push_back("c" + std::to_string(i));
    good.push_back(i % 5 == 0 ? 0 : 100);
    bad.push_back(i % 2 == 0 ? 0 : 100);
  }
  write_run(workspace, kCandidate, cases, {good, good, good});
  write_run(workspace, kIncumbent, cases, {bad, bad, bad});
  auto comparison = compare_variants(workspace, request_for());
  REQUIRE(comparison.ok());
  CHECK(comparison->accepted);
  CHECK(comparison->mean_difference == doctest::Approx(30.0));
  CHECK(comparison->p_value < 0.05);
  CHECK(comparison->ci_low > 0);
  CHECK(comparison->reason.rfind("accepted", 0) == 0);
  CHECK(comparison->noise_floor == 0.0);  // identical trials: no spread
}

TEST_CASE("rejects a significant gain smaller than the minimum effect") {
  TempDir dir;
  Workspace workspace = open_workspace(dir);
  std::vector<std::string> cases;
  std::vector<double> better;
  std::vector<double> worse;
  for (int i = 0; i < 40; ++i) {
    cases.push_back("c" + std::to_string(i));
    better.push_back(51);
    worse.push_back(50);
  }
  write_run(workspace, kCandidate, cases, {better, better, better});
  write_run(workspace, kIncumbent, cases, {worse, worse, worse});
  auto comparison = compare_variants(workspace, request_for(3, 2.0));
  REQUIRE(comparison.ok());
  CHECK(comparison->p_value < 0.001);
  CHECK_FALSE(comparison->accepted);
  CHECK(comparison->reason.find("below the minimum effect of 2 points") != std::string::npos);
}

TEST_CASE("leaves out cases with an infrastructure failure in either variant and says so") {
  TempDir dir;
  Workspace workspace = open_workspace(dir);
  RunExtras failing;
  failing.infrastructure_failure = "c2";
  write_run(workspace, kCandidate, {"c1", "c2", "c3", "c4"}, {{100, 100, 100, 100}}, failing);
  write_run(workspace, kIncumbent, {"c1", "c2", "c3", "c4"}, {{0, 0, 100, 0}});
  auto comparison = compare_variants(workspace, request_for(1, 0.0));
  REQUIRE(comparison.ok());
  CHECK(comparison->cases == 3);
  CHECK(comparison->excluded_infrastructure == 1);
  CHECK(comparison->mean_difference == doctest::Approx(200.0 / 3));
  CHECK(comparison->reason.find("1 case(s) with an infrastructure failure") !=
        std::string::npos);
  CHECK(to_json(*comparison)["excluded"]["infrastructure"] == 1);
}

TEST_CASE("ignores runs that are not complete and counts only complete trials") {
  TempDir dir;
  Workspace workspace = open_workspace(dir);
  write_run(workspace, kCandidate, {"c1", "c2", "c3", "c4"}, {{100, 100, 100, 100}});
  RunExtras unfinished;
  unfinished.finish = false;
  write_run(workspace, kCandidate, {"c1", "c2", "c3", "c4"}, {{0, 0, 0, 0}, {0, 0, 0, 0}},
            unfinished);
  auto trials = trials_available(workspace, "qa", kCandidate, "validation");
  REQUIRE(trials.ok());
  CHECK(*trials == 1);
  CHECK(*trials_available(workspace, "qa", kCandidate, "train") == 0);
  write_run(workspace, kIncumbent, {"c1", "c2", "c3", "c4"}, {{0, 0, 0, 0}});
  auto refused = compare_variants(workspace, request_for(2));
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().code == ErrorCode::kConflict);
  CHECK(refused.error().message.find("candidate") != std::string::npos);
  CHECK(refused.error().message.find("has 1 trial(s)") != std::string::npos);
  CHECK(refused.error().message.find("acceptance needs 2") != std::string::npos);
}

TEST_CASE("refuses runs whose case sets differ") {
  TempDir dir;
  Workspace workspace = open_workspace(dir);
  write_run(workspace, kCandidate, {"c1", "c2", "c3"}, {{100, 100, 100}});
  write_run(workspace, kIncumbent, {"c1", "c2", "c3", "c4"}, {{0, 0, 0, 0}});
  auto refused = compare_variants(workspace, request_for(1));
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().code == ErrorCode::kConflict);
  CHECK(refused.error().message.find("case set differs") != std::string::npos);
}

TEST_CASE("refuses runs under different model settings and names them") {
  TempDir dir;
  Workspace workspace = open_workspace(dir);
  RunExtras cold;
  cold.settings["model"]["temperature"] = 0.0;
  write_run(workspace, kCandidate, {"c1", "c2"}, {{100, 100}}, cold);
  write_run(workspace, kIncumbent, {"c1", "c2"}, {{0, 0}});
  auto refused = compare_variants(workspace, request_for(1));
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().code == ErrorCode::kConflict);
  CHECK(refused.error().message.find("model settings differs") != std::string::npos);
  CHECK(refused.error().message.find("\"temperature\":0.0") != std::string::npos);
}

TEST_CASE("rejects malformed requests before reading anything") {
  TempDir dir;
  Workspace workspace = open_workspace(dir);
  CompareRequest request = request_for();
  request.split = "dev";
  auto bad_split = compare_variants(workspace, request);
  REQUIRE_FALSE(bad_split.ok());
  CHECK(bad_split.error().code == ErrorCode::kInvalidInput);
  CHECK(bad_split.error().message.find("unknown split 'dev'") != std::string::npos);
  request = request_for();
  request.candidate_id = "v001";
  CHECK_FALSE(compare_variants(workspace, request).ok());
}

// --- on real runs of the example tenant -------------------------------------------------------

constexpr char kShortAnswer[] =
    "\nAnswer the question with a short answer: only the answer, in a few words. Always "
    "answer; if unsure, give your best guess.\n";
constexpr char kKeepNames[] =
    "\nKeep every name (people, places, organisations) the passages mention.\n";

// A copy of multihop_qa plus an exported variant directory with the README's prompt fixes.
struct TenantFixture {
  TempDir dir;
  Workspace workspace = open_workspace(dir);

  TenantFixture() {
    testing::copy_tenant("multihop_qa", dir.path());
    const auto tenant = dir.path() / "tenants" / "multihop_qa";
    const auto fixed = dir.path() / "fixed";
    std::filesystem::create_directories(fixed / "prompts");
    for (const char* name : {"chain.json", "prompts/answer.md", "prompts/summarize.md",
                             "prompts/query2.md"}) {
      std::filesystem::copy_file(tenant / name, fixed / name);
    }
    testing::write_text(fixed / "prompts/answer.md",
                        testing::read_text(tenant / "prompts/answer.md") + kShortAnswer);
    testing::write_text(fixed / "prompts/summarize.md",
                        testing::read_text(tenant / "prompts/summarize.md") + kKeepNames);
  }

  RunSummary evaluate_variant(const std::string& variant_dir, const std::string& split,
                              int trials) {
    EvalRequest request;
    request.tenant_id = "multihop_qa";
    request.split = split;
    request.trials = trials;
    request.variant_dir = variant_dir;
    auto summary = evaluate(workspace, request);
    REQUIRE_MESSAGE(summary.ok(), summary.error().message);
    return *summary;
  }

  CompareRequest request(const std::string& candidate, const std::string& incumbent) const {
    CompareRequest request;
    request.tenant_id = "multihop_qa";
    request.candidate_id = candidate;
    request.incumbent_id = incumbent;
    request.split = "validation";
    request.seed = 1;
    return request;  // acceptance: 3 trials, min effect 2, confidence 0.95 (the tenant's)
  }
};

TEST_CASE("accepts the README's prompt fixes over the baseline on validation") {
  TenantFixture fixture;
  const RunSummary baseline = fixture.evaluate_variant("", "validation", 3);
  const RunSummary fixed = fixture.evaluate_variant("fixed", "validation", 3);
  auto comparison =
      compare_variants(fixture.workspace, fixture.request(fixed.variant_id, baseline.variant_id));
  REQUIRE_MESSAGE(comparison.ok(), comparison.error().message);
  CHECK(comparison->accepted);
  CHECK(comparison->cases == baseline.cases);
  CHECK(comparison->mean_difference == doctest::Approx(fixed.mean - baseline.mean).epsilon(1e-6));
  CHECK(comparison->mean_difference > 20);
  CHECK(comparison->improved > comparison->regressed);
  CHECK(comparison->candidate.run_ids == std::vector<std::string>{fixed.run_id});
  CHECK(comparison->incumbent.run_ids == std::vector<std::string>{baseline.run_id});
  CHECK(comparison->candidate.trial_means.size() == 3);
  CHECK(comparison->noise_floor < 5);
  CHECK_FALSE(comparison->breakdown_deltas.empty());
}

TEST_CASE("rejects the baseline compared with itself") {
  TenantFixture fixture;
  const RunSummary baseline = fixture.evaluate_variant("", "validation", 3);
  auto comparison = compare_variants(
      fixture.workspace, fixture.request(baseline.variant_id, baseline.variant_id));
  REQUIRE(comparison.ok());
  CHECK_FALSE(comparison->accepted);
  CHECK(comparison->mean_difference == 0.0);
  CHECK(comparison->p_value == 1.0);
  CHECK(comparison->reason.find("below the minimum effect") != std::string::npos);
}

TEST_CASE("refuses a candidate with fewer trials than acceptance needs, naming the trials") {
  TenantFixture fixture;
  const RunSummary baseline = fixture.evaluate_variant("", "validation", 3);
  const RunSummary fixed = fixture.evaluate_variant("fixed", "validation", 1);
  auto refused =
      compare_variants(fixture.workspace, fixture.request(fixed.variant_id, baseline.variant_id));
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().code == ErrorCode::kConflict);
  CHECK(refused.error().message.find("not enough trials") != std::string::npos);
  CHECK(refused.error().message.find("2 more trial(s)") != std::string::npos);
  CHECK(*trials_available(fixture.workspace, "multihop_qa", fixed.variant_id, "validation") == 1);
}

TEST_CASE("refuses a candidate evaluated on another split, naming the split") {
  TenantFixture fixture;
  const RunSummary baseline = fixture.evaluate_variant("", "validation", 3);
  const RunSummary fixed = fixture.evaluate_variant("fixed", "train", 3);
  auto refused =
      compare_variants(fixture.workspace, fixture.request(fixed.variant_id, baseline.variant_id));
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().code == ErrorCode::kConflict);
  CHECK(refused.error().message.find("another split: train") != std::string::npos);
}

TEST_CASE("refuses runs scored by different scorers, naming the scorer") {
  TenantFixture fixture;
  const RunSummary baseline = fixture.evaluate_variant("", "validation", 3);
  const auto tenant_json = fixture.dir.path() / "tenants/multihop_qa/tenant.json";
  json config = json::parse(testing::read_text(tenant_json));
  config["scorer"].erase("aliases_field");
  testing::write_text(tenant_json, config.dump(2));
  const RunSummary fixed = fixture.evaluate_variant("fixed", "validation", 3);
  auto refused =
      compare_variants(fixture.workspace, fixture.request(fixed.variant_id, baseline.variant_id));
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().code == ErrorCode::kConflict);
  CHECK(refused.error().message.find("the scorer differs") != std::string::npos);
  CHECK(refused.error().message.find(baseline.run_id) != std::string::npos);
}

}  // namespace
}  // namespace fapo
