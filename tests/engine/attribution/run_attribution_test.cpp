#include "engine/attribution/run_attribution.h"

#include <doctest/doctest.h>

#include "engine/run/evaluator.h"
#include "tests/test_support.h"

namespace fapo {
namespace {

using nlohmann::json;

struct EvaluatedRun {
  Workspace workspace;
  std::string run_id;
};

EvaluatedRun evaluate_example(const testing::TempDir& dir, const std::string& tenant,
                              const std::string& split) {
  testing::copy_tenant(tenant, dir.path());
  auto workspace = Workspace::open(dir.path());
  REQUIRE(workspace.ok());
  EvalRequest request;
  request.tenant_id = tenant;
  request.split = split;
  auto summary = evaluate(*workspace, request);
  REQUIRE_MESSAGE(summary.ok(), (summary.ok() ? "" : summary.error().message));
  return EvaluatedRun{*workspace, summary->run_id};
}

TEST_CASE("attributes every failed case of the multihop_qa baseline train run") {
  testing::TempDir dir;
  EvaluatedRun run = evaluate_example(dir, "multihop_qa", "train");
  auto report = attribute_run(run.workspace, "multihop_qa", run.run_id);
  REQUIRE_MESSAGE(report.ok(), (report.ok() ? "" : report.error().message));
  CHECK(report->split == "train");
  CHECK(report->simulated);
  CHECK(report->failure_threshold == 100);
  CHECK(report->cases == 60);
  CHECK(report->attributions.size() > 20);  // the baseline solves about a third
  std::size_t clustered = 0;
  for (const Cluster& cluster : report->analysis.clusters) clustered += cluster.count;
  CHECK(clustered == report->attributions.size());
  for (const Attribution& attribution : report->attributions) {
    CHECK(attribution.failure_class != FailureClass::kUnknown);
    CHECK_FALSE(attribution.step_id.empty());
    CHECK_FALSE(attribution.evidence.empty());
  }
  // Verbose and hedged answers dominate the baseline: prompt changes come first.
  CHECK(report->analysis.recommended == ChangeLevel::kPrompt);
  json full = to_json(*report, CaseAccess::kFull);
  CHECK(full["attributions"].size() == report->attributions.size());
  CHECK(full["clusters"][0].contains("example_case_ids"));
}

TEST_CASE("a lower failure threshold counts fewer failures") {
  testing::TempDir dir;
  EvaluatedRun run = evaluate_example(dir, "word_math", "train");
  auto strict = attribute_run(run.workspace, "word_math", run.run_id);
  REQUIRE(strict.ok());
  AttributionOptions lenient_options;
  lenient_options.failure_threshold = 0;
  auto lenient = attribute_run(run.workspace, "word_math", run.run_id, lenient_options);
  REQUIRE(lenient.ok());
  CHECK_FALSE(strict->attributions.empty());
  CHECK(lenient->attributions.empty());
  CHECK(lenient->analysis.recommended == ChangeLevel::kNone);
}

TEST_CASE("gives validation runs counts and shares only, without case ids or text") {
  testing::TempDir dir;
  EvaluatedRun run = evaluate_example(dir, "word_math", "validation");
  auto report = attribute_run(run.workspace, "word_math", run.run_id);
  REQUIRE(report.ok());
  json out = to_json(*report, case_access_for(report->split));
  CHECK(out["access"] == "aggregates_only");
  CHECK_FALSE(out.contains("attributions"));
  std::size_t listed = 0;
  for (const json& cluster : out["clusters"]) {
    CHECK_FALSE(cluster.contains("example_case_ids"));
    CHECK(cluster["count"].get<std::size_t>() >= kMinGroupCases);
    listed += cluster["count"].get<std::size_t>();
  }
  CHECK(listed + out["unlisted_failures"].get<std::size_t>() == report->attributions.size());
  CHECK(out.dump().find("wm0") == std::string::npos);  // no case id anywhere
}

TEST_CASE("refuses test runs and reports unknown runs") {
  testing::TempDir dir;
  EvaluatedRun run = evaluate_example(dir, "word_math", "test");
  auto refused = attribute_run(run.workspace, "word_math", run.run_id);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().code == ErrorCode::kInvalidInput);
  CHECK(refused.error().message.find("final_test") != std::string::npos);

  auto unknown = attribute_run(run.workspace, "word_math", "r20990101-000000-abcdef");
  REQUIRE_FALSE(unknown.ok());
  CHECK(unknown.error().code == ErrorCode::kNotFound);
}

}  // namespace
}  // namespace fapo
