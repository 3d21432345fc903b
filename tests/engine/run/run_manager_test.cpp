#include "engine/run/run_manager.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <vector>

#include "engine/run/run_store.h"
#include "tests/engine/run/scripted_evaluator.h"
#include "tests/test_support.h"

namespace fapo {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr auto kLongWait = seconds(60);  // only turns a hang into a failure

Workspace open_workspace(const fs::path& dir) {
  auto workspace = Workspace::open(dir);
  REQUIRE(workspace.ok());
  return *workspace;
}

EvalRequest request_for(std::string tenant_id, std::string split = "train") {
  EvalRequest request;
  request.tenant_id = std::move(tenant_id);
  request.split = std::move(split);
  return request;
}

// A manager whose evaluations are scripted by the test.
struct ScriptedManager {
  testing::TempDir dir;
  testing::ScriptedEvaluator evaluator;
  RunManager manager;

  explicit ScriptedManager(std::size_t max_active = 2)
      : manager(open_workspace(dir.path()), RunManagerOptions{max_active, 64, evaluator.function()}) {}
};

TEST_CASE("start returns the new run's id while the run is still going") {
  ScriptedManager m;
  auto run = m.manager.start(request_for("qa"));
  REQUIRE(run.ok());
  CHECK(check_run_id(run->run_id).ok());
  CHECK(run->state == RunState::kRunning);
  CHECK(run->active);
  CHECK(run->total == testing::ScriptedEvaluator::kResultsPerRun);
  CHECK(run->done == 0);
  CHECK(m.manager.active_runs().size() == 1);
  m.evaluator.complete(run->run_id);
  auto finished = m.manager.wait("qa", run->run_id, kLongWait);
  REQUIRE(finished.ok());
  CHECK(finished->state == RunState::kComplete);
}

TEST_CASE("wait reports growing progress and returns the summary when the run completes") {
  ScriptedManager m;
  auto run = m.manager.start(request_for("qa"));
  REQUIRE(run.ok());
  m.evaluator.allow(run->run_id, 2);
  WaitHooks until_two;
  until_two.should_stop = [&] { return m.manager.snapshot("qa", run->run_id)->done >= 2; };
  auto partway = m.manager.wait("qa", run->run_id, kLongWait, until_two);
  REQUIRE(partway.ok());
  CHECK(partway->state == RunState::kRunning);
  CHECK(partway->done == 2);
  CHECK(partway->mean == doctest::Approx(50.0));

  std::vector<std::size_t> seen;
  WaitHooks hooks;
  hooks.on_progress = [&](const RunSnapshot& now) { seen.push_back(now.done); };
  m.evaluator.complete(run->run_id);
  auto finished = m.manager.wait("qa", run->run_id, kLongWait, hooks);
  REQUIRE(finished.ok());
  CHECK(finished->state == RunState::kComplete);
  CHECK_FALSE(finished->active);
  REQUIRE(finished->summary.has_value());
  CHECK(finished->summary->results == testing::ScriptedEvaluator::kResultsPerRun);
  REQUIRE_FALSE(seen.empty());
  CHECK(std::is_sorted(seen.begin(), seen.end()));
  CHECK(seen.back() == testing::ScriptedEvaluator::kResultsPerRun);
}

TEST_CASE("a start beyond the limit of active runs is refused, naming the running runs") {
  ScriptedManager m(/*max_active=*/2);
  auto first = m.manager.start(request_for("qa"));
  auto second = m.manager.start(request_for("other", "validation"));
  REQUIRE(first.ok());
  REQUIRE(second.ok());
  auto third = m.manager.start(request_for("qa"));
  REQUIRE_FALSE(third.ok());
  CHECK(third.error().code == ErrorCode::kConflict);
  CHECK(third.error().message.find("at most 2 evaluations") != std::string::npos);
  CHECK(third.error().message.find(first->run_id) != std::string::npos);
  CHECK(third.error().message.find("tenant other, validation") != std::string::npos);

  m.evaluator.complete(first->run_id);
  REQUIRE(m.manager.wait("qa", first->run_id, kLongWait)->state == RunState::kComplete);
  auto again = m.manager.start(request_for("qa"));
  CHECK(again.ok());
  m.manager.shutdown();
}

TEST_CASE("cancel sets the flag the evaluator checks and the run ends cancelled") {
  ScriptedManager m;
  auto run = m.manager.start(request_for("qa"));
  REQUIRE(run.ok());
  m.evaluator.allow(run->run_id, 1);
  auto cancelled = m.manager.cancel("qa", run->run_id);
  REQUIRE(cancelled.ok());
  auto finished = m.manager.wait("qa", run->run_id, kLongWait);
  REQUIRE(finished.ok());
  CHECK(finished->state == RunState::kCancelled);
  CHECK_FALSE(finished->cancel_requested);
  CHECK(m.evaluator.saw_cancel(run->run_id));
  // Cancelling a finished run changes nothing.
  auto again = m.manager.cancel("qa", run->run_id);
  REQUIRE(again.ok());
  CHECK(again->state == RunState::kCancelled);
}

TEST_CASE("an evaluator error before the run exists is returned by start and nothing is tracked") {
  ScriptedManager m;
  m.evaluator.fail_next(make_error(ErrorCode::kInvalidInput, "tenants/qa/chain.json: broken"));
  auto run = m.manager.start(request_for("qa"));
  REQUIRE_FALSE(run.ok());
  CHECK(run.error().code == ErrorCode::kInvalidInput);
  CHECK(run.error().message == "tenants/qa/chain.json: broken");
  CHECK(m.manager.active_runs().empty());
  // The failed start did not take a slot.
  auto first = m.manager.start(request_for("qa"));
  auto second = m.manager.start(request_for("qa"));
  CHECK(first.ok());
  CHECK(second.ok());
  m.manager.shutdown();
}

TEST_CASE("wait ends early when should_stop says so, leaving the run running") {
  ScriptedManager m;
  auto run = m.manager.start(request_for("qa"));
  REQUIRE(run.ok());
  WaitHooks hooks;
  hooks.should_stop = [] { return true; };
  auto waited = m.manager.wait("qa", run->run_id, kLongWait, hooks);
  REQUIRE(waited.ok());
  CHECK(waited->state == RunState::kRunning);
  CHECK(m.manager.active_runs().size() == 1);
  m.manager.shutdown();
}

TEST_CASE("wait returns the running snapshot when its time is up") {
  ScriptedManager m;
  auto run = m.manager.start(request_for("qa"));
  REQUIRE(run.ok());
  m.evaluator.allow(run->run_id, 1);
  auto waited = m.manager.wait("qa", run->run_id, milliseconds(1));
  REQUIRE(waited.ok());
  CHECK(waited->state == RunState::kRunning);
  m.manager.shutdown();
}

TEST_CASE("shutdown cancels the active runs, joins them and refuses new runs") {
  ScriptedManager m;
  auto first = m.manager.start(request_for("qa"));
  auto second = m.manager.start(request_for("qa"));
  REQUIRE(first.ok());
  REQUIRE(second.ok());
  m.manager.shutdown();
  CHECK(m.manager.active_runs().empty());
  CHECK(m.evaluator.saw_cancel(first->run_id));
  CHECK(m.evaluator.saw_cancel(second->run_id));
  CHECK(m.manager.snapshot("qa", first->run_id)->state == RunState::kCancelled);
  auto refused = m.manager.start(request_for("qa"));
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().message.find("shutting down") != std::string::npos);
}

TEST_CASE("malformed ids are refused before any path is built") {
  ScriptedManager m;
  auto bad_tenant = m.manager.snapshot("../etc", "r20260101-000000-000001");
  REQUIRE_FALSE(bad_tenant.ok());
  CHECK(bad_tenant.error().code == ErrorCode::kInvalidInput);
  auto bad_run = m.manager.wait("qa", "../../x", milliseconds(1));
  REQUIRE_FALSE(bad_run.ok());
  CHECK(bad_run.error().code == ErrorCode::kInvalidInput);
  CHECK_FALSE(m.manager.start(request_for("Not A Tenant")).ok());
}

TEST_CASE("evaluates the example tenant in the background and agrees with the run store") {
  testing::TempDir dir;
  testing::copy_tenant("multihop_qa", dir.path());
  RunManager manager(open_workspace(dir.path()));
  auto run = manager.start(request_for("multihop_qa"));
  REQUIRE(run.ok());
  CHECK(run->total == 60);
  auto finished = manager.wait("multihop_qa", run->run_id, kLongWait);
  REQUIRE(finished.ok());
  REQUIRE(finished->state == RunState::kComplete);
  REQUIRE(finished->summary.has_value());
  CHECK(finished->done == 60);
  CHECK(finished->summary->model_provider == "sim");
  CHECK_FALSE(finished->variant_id.empty());

  auto status = RunStore(manager.workspace(), "multihop_qa").status(run->run_id);
  REQUIRE(status.ok());
  CHECK(status->state == RunState::kComplete);
  CHECK(status->manifest["summary"]["mean"].get<double>() == doctest::Approx(finished->mean));
}

TEST_CASE("knows runs it did not start from disk, and refuses to cancel a finished one quietly") {
  testing::TempDir dir;
  testing::copy_tenant("multihop_qa", dir.path());
  const Workspace workspace = open_workspace(dir.path());
  auto summary = evaluate(workspace, request_for("multihop_qa"));
  REQUIRE(summary.ok());
  RunManager manager(workspace);
  auto known = manager.snapshot("multihop_qa", summary->run_id);
  REQUIRE(known.ok());
  CHECK_FALSE(known->active);
  CHECK(known->state == RunState::kComplete);
  CHECK(known->split == "train");
  CHECK(known->total == 60);
  CHECK(known->done == 60);
  CHECK(known->mean == doctest::Approx(summary->mean));
  CHECK(known->summary->standard_error == doctest::Approx(summary->standard_error));
  CHECK(manager.wait("multihop_qa", summary->run_id, kLongWait)->state == RunState::kComplete);
  CHECK(manager.cancel("multihop_qa", summary->run_id)->state == RunState::kComplete);

  auto unknown = manager.snapshot("multihop_qa", "r20200101-000000-abcdef");
  REQUIRE_FALSE(unknown.ok());
  CHECK(unknown.error().code == ErrorCode::kNotFound);
}

// Regression test for #4: the waiter must see the manifest another writer leaves when it
// finishes, not report the run as still running or interrupted.
TEST_CASE("wait follows a run another writer is evaluating until it finishes") {
  testing::TempDir dir;
  const Workspace workspace = open_workspace(dir.path());
  RunStore store(workspace, "qa");
  RunPlan plan;
  plan.variant_id = "v001";
  plan.split = "train";
  plan.case_ids = {"a", "b"};
  auto writer = store.create(plan);  // holds the run's lock, as `fapo eval` would
  REQUIRE(writer.ok());
  const std::string run_id = writer->plan().run_id;
  REQUIRE(writer->append_result({{"case_id", "a"}, {"trial", 0}, {"score", 100}}).ok());
  REQUIRE(writer->write_progress({{"done", 1}, {"total", 2}, {"mean", 100.0}}, true).ok());

  RunManager manager(workspace);
  auto running = manager.snapshot("qa", run_id);
  REQUIRE(running.ok());
  CHECK(running->state == RunState::kRunning);
  CHECK_FALSE(running->active);
  CHECK(running->done == 1);
  auto refused = manager.cancel("qa", run_id);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().message.find("another process") != std::string::npos);

  // The writer finishes as soon as the waiter has looked at the run once.
  std::atomic<bool> finished{false};
  WaitHooks hooks;
  hooks.should_stop = [&] {
    if (!finished.exchange(true)) {
      REQUIRE(writer->append_result({{"case_id", "b"}, {"trial", 0}, {"score", 0}}).ok());
      REQUIRE(writer->finish({{"results", 2}, {"mean", 50.0}}, "complete").ok());
    }
    return false;
  };
  auto done = manager.wait("qa", run_id, kLongWait, hooks);
  REQUIRE(done.ok());
  CHECK(done->state == RunState::kComplete);
  CHECK(done->mean == doctest::Approx(50.0));
}

}  // namespace
}  // namespace fapo
