#include "engine/attribution/confirmation.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <set>

#include "engine/run/evaluator.h"
#include "tests/test_support.h"

namespace fapo {
namespace {

using nlohmann::json;

// A train (or other) run of an example tenant's baseline, attributed, with the tenant loaded.
struct AttributedRun {
  Workspace workspace;
  RunAttribution report;
  Tenant tenant;
};

AttributedRun attributed_example(const testing::TempDir& dir, const std::string& tenant_id,
                                 const std::string& split = "train") {
  testing::copy_tenant(tenant_id, dir.path());
  auto workspace = Workspace::open(dir.path());
  REQUIRE(workspace.ok());
  EvalRequest request;
  request.tenant_id = tenant_id;
  request.split = split;
  auto summary = evaluate(*workspace, request);
  REQUIRE_MESSAGE(summary.ok(), (summary.ok() ? "" : summary.error().message));
  auto report = attribute_run(*workspace, tenant_id, summary->run_id);
  REQUIRE_MESSAGE(report.ok(), (report.ok() ? "" : report.error().message));
  auto tenant = load_tenant(*workspace, tenant_id);
  REQUIRE_MESSAGE(tenant.ok(), (tenant.ok() ? "" : tenant.error().message));
  return AttributedRun{*workspace, std::move(*report), std::move(*tenant)};
}

ConfirmationOptions all_cases() {
  ConfirmationOptions options;
  options.max_cases = 1000;
  return options;
}

TEST_CASE("retrieval misses are replayed with the gold passages appended to the search") {
  testing::TempDir dir;
  AttributedRun run = attributed_example(dir, "multihop_qa");
  auto plan = plan_confirmation(run.workspace, run.tenant, run.report, all_cases());
  REQUIRE_MESSAGE(plan.ok(), (plan.ok() ? "" : plan.error().message));
  std::size_t evidence_replays = 0;
  for (const PlannedReplay& replay : plan->replays) {
    const Cluster& cluster = run.report.analysis.clusters[replay.cluster];
    if (cluster.failure_class != FailureClass::kRetrievalMiss) {
      CHECK(replay.method == ReplayMethod::kResampled);
      continue;
    }
    evidence_replays += 1;
    CHECK(replay.method == ReplayMethod::kEvidenceSupplied);
    REQUIRE_FALSE(replay.supplied_ids.empty());
    // The search keeps what it found; the gold passages follow, numbered on.
    const std::string& output = replay.start.outputs.at(cluster.step_id);
    CHECK(output.find("[1] «") == 0);
    CHECK(output.find("[3] «") != std::string::npos);
    // Supplied at the second search: only the answer step reruns; at the first, three steps.
    if (cluster.step_id == "hop2") {
      CHECK(replay.start.from_step == "answer");
      CHECK(replay.calls == 1);
    } else {
      CHECK(cluster.step_id == "hop1");
      CHECK(replay.start.from_step == "summarize");
      CHECK(replay.calls == 3);
    }
  }
  CHECK(evidence_replays > 0);
}

TEST_CASE("the estimate is the model calls from each replay's first step on") {
  testing::TempDir dir;
  AttributedRun run = attributed_example(dir, "multihop_qa");
  ConfirmationOptions options = all_cases();
  options.replays_per_case = 2;
  auto plan = plan_confirmation(run.workspace, run.tenant, run.report, options);
  REQUIRE(plan.ok());
  long long expected = 0;
  for (const PlannedReplay& replay : plan->replays) {
    if (replay.method == ReplayMethod::kResampled && replay.start.from_step == "answer") {
      CHECK(replay.calls == 1);
    }
    expected += 2 * replay.calls;
  }
  CHECK(plan->estimated_calls == expected);
  CHECK(plan->estimated_tokens > 0);
  CHECK(plan->estimated_money == 0);  // the simulated model is free

  auto confirmed = run_confirmation(run.tenant, run.report, *plan, options);
  REQUIRE(confirmed.ok());
  CHECK(confirmed->replays == 2 * plan->replays.size());
  CHECK(confirmed->calls_spent > 0);
  CHECK(confirmed->calls_spent <= plan->estimated_calls);
  CHECK(confirmed->tokens_in > 0);
}

TEST_CASE("supplied evidence fixes most retrieval misses of multihop_qa at the second search") {
  testing::TempDir dir;
  AttributedRun run = attributed_example(dir, "multihop_qa");
  auto plan = plan_confirmation(run.workspace, run.tenant, run.report, all_cases());
  REQUIRE(plan.ok());
  auto confirmed = run_confirmation(run.tenant, run.report, *plan, all_cases());
  REQUIRE(confirmed.ok());
  REQUIRE(confirmed->clusters.size() == run.report.analysis.clusters.size());
  std::size_t replays = 0;
  std::size_t fixed = 0;
  for (std::size_t c = 0; c < confirmed->clusters.size(); ++c) {
    const Cluster& cluster = run.report.analysis.clusters[c];
    const ClusterConfirmation& result = confirmed->clusters[c];
    CHECK(result.fixed <= result.replays);
    CHECK(result.fixed_case_ids.size() <= result.cases);
    for (const std::string& id : result.fixed_case_ids) {
      CHECK(std::count(cluster.case_ids.begin(), cluster.case_ids.end(), id) == 1);
    }
    if (cluster.failure_class == FailureClass::kRetrievalMiss && cluster.step_id == "hop2") {
      CHECK(result.method == "evidence_supplied");
      replays += result.replays;
      fixed += result.fixed;
    }
  }
  // With the answer's passage in its prompt the simulated model answers, except where a
  // separate habit (verbose, hedging on hard questions) still fails the case.
  REQUIRE(replays > 0);
  CHECK(fixed * 2 > replays);
  CHECK(confirmed->rate() > 0);
  CHECK(confirmed->rate() < 1);
}

TEST_CASE("max_cases bounds the replays and lets every confirmable cluster take a turn") {
  testing::TempDir dir;
  AttributedRun run = attributed_example(dir, "multihop_qa");
  std::size_t confirmable = 0;
  for (const Cluster& cluster : run.report.analysis.clusters) {
    confirmable += is_confirmable(cluster.failure_class);
  }
  REQUIRE(confirmable >= 3);
  ConfirmationOptions options;
  options.max_cases = 3;
  auto plan = plan_confirmation(run.workspace, run.tenant, run.report, options);
  REQUIRE(plan.ok());
  REQUIRE(plan->replays.size() == 3);
  std::set<std::size_t> clusters;
  for (const PlannedReplay& replay : plan->replays) clusters.insert(replay.cluster);
  CHECK(clusters.size() == 3);
  CHECK(*clusters.begin() == 0);  // the largest cluster goes first
}

TEST_CASE("word_math's failures are replayed by resampling the model step that caused them") {
  testing::TempDir dir;
  AttributedRun run = attributed_example(dir, "word_math");
  auto plan = plan_confirmation(run.workspace, run.tenant, run.report, all_cases());
  REQUIRE(plan.ok());
  REQUIRE_FALSE(plan->replays.empty());
  for (const PlannedReplay& replay : plan->replays) {
    CHECK(replay.method == ReplayMethod::kResampled);
    const Cluster& cluster = run.report.analysis.clusters[replay.cluster];
    CHECK(replay.start.from_step == cluster.step_id);
    // verify then a transform: one call; solve then verify: two.
    CHECK(replay.calls == (cluster.step_id == "solve" ? 2 : 1));
    if (cluster.step_id == "verify") CHECK(replay.start.outputs.count("solve") == 1);
  }
  auto confirmed = run_confirmation(run.tenant, run.report, *plan, all_cases());
  REQUIRE(confirmed.ok());
  CHECK(confirmed->replays == plan->replays.size());
  CHECK(confirmed->failed == 0);
}

TEST_CASE("confirmation is refused on validation runs and for out-of-range options") {
  testing::TempDir dir;
  AttributedRun run = attributed_example(dir, "word_math", "validation");
  auto refused = plan_confirmation(run.workspace, run.tenant, run.report, {});
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().code == ErrorCode::kInvalidInput);
  CHECK(refused.error().message.find("train runs only") != std::string::npos);

  testing::TempDir train_dir;
  AttributedRun train = attributed_example(train_dir, "word_math");
  ConfirmationOptions options;
  options.replays_per_case = 9;
  auto bad = plan_confirmation(train.workspace, train.tenant, train.report, options);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().message.find("between 1 and 5") != std::string::npos);
}

TEST_CASE("a cancelled confirmation stops between replays and reports what it spent") {
  testing::TempDir dir;
  AttributedRun run = attributed_example(dir, "word_math");
  ConfirmationOptions options = all_cases();
  std::size_t seen = 0;
  options.progress = [&](std::size_t done, std::size_t) { seen = done; };
  options.cancelled = [&] { return seen >= 2; };
  auto plan = plan_confirmation(run.workspace, run.tenant, run.report, options);
  REQUIRE(plan.ok());
  REQUIRE(plan->replays.size() > 2);
  auto confirmed = run_confirmation(run.tenant, run.report, *plan, options);
  REQUIRE(confirmed.ok());
  CHECK(confirmed->cancelled);
  CHECK(confirmed->replays == 2);
  CHECK(confirmed->calls_spent >= 2);
}

TEST_CASE("the report shows the confirmation per cluster and overall") {
  testing::TempDir dir;
  AttributedRun run = attributed_example(dir, "multihop_qa");
  ConfirmationOptions options;
  options.max_cases = 6;
  auto plan = plan_confirmation(run.workspace, run.tenant, run.report, options);
  REQUIRE(plan.ok());
  auto confirmed = run_confirmation(run.tenant, run.report, *plan, options);
  REQUIRE(confirmed.ok());
  json out = to_json(run.report, CaseAccess::kFull);
  add_confirmation(out, run.report, *confirmed);
  const json& summary = out["confirmation"];
  CHECK(summary["estimated_calls"] == plan->estimated_calls);
  CHECK(summary["calls_spent"] == confirmed->calls_spent);
  CHECK(summary["cases"] == 6);
  CHECK(summary["replays"] == 6);
  std::size_t replays = 0;
  for (const json& cluster : out["clusters"]) {
    REQUIRE(cluster.contains("confirmation"));
    const json& result = cluster["confirmation"];
    replays += result["replays"].get<std::size_t>();
    if (result["replays"].get<int>() > 0) {
      CHECK(result["rate"].get<double>() ==
            doctest::Approx(result["fixed"].get<double>() / result["replays"].get<double>())
                .epsilon(0.001));
    } else {
      CHECK_FALSE(result.contains("rate"));
    }
  }
  CHECK(replays == 6);
}

}  // namespace
}  // namespace fapo
