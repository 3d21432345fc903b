// The run manager runs evaluations in the background for a long-lived process (the MCP
// server): start() launches evaluate() on a thread of its own and returns as soon as the run has
// an id, while callers follow the run through snapshots, wait for it for a bounded time, or
// cancel it. At most `max_active_runs` evaluations run at once; a start beyond that is refused
// rather than queued, so a caller always knows whether its run is going. Runs this process did
// not start (an earlier server, `fapo eval`) are known from disk: their state, progress and
// summary come from the run store.
//
// Thread safety: every public member may be called from any thread. One mutex guards the table
// of runs; evaluation threads update it through the evaluator's observer, and a condition
// variable wakes waiters on every change. The destructor (or shutdown()) cancels the active
// runs and joins their threads; the manager must outlive every caller blocked in wait().
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "engine/base/result.h"
#include "engine/run/evaluator.h"
#include "engine/run/run_store.h"
#include "engine/run/workspace.h"

namespace fapo {

// evaluate()'s signature: the manager's one side effect, replaceable so that tests can script
// a run's life (start, progress, cancellation) without timing.
using EvaluateFunction = std::function<Result<RunSummary>(
    const Workspace&, const EvalRequest&, EvalObserver*, const std::atomic<bool>*)>;

struct RunManagerOptions {
  std::size_t max_active_runs = 2;
  // Finished runs kept in memory (with their summary or error); older ones are read from disk.
  std::size_t finished_runs_kept = 64;
  EvaluateFunction evaluate;  // empty: fapo::evaluate
};

// What is known about one run at one moment.
struct RunSnapshot {
  std::string run_id;
  std::string tenant_id;
  std::string split;
  std::string variant_id;
  int trials = 0;
  RunState state = RunState::kInterrupted;
  bool active = false;            // being evaluated by this process right now
  bool cancel_requested = false;  // cancel() was called and the run has not stopped yet
  std::size_t done = 0;           // (case, trial) results recorded
  std::size_t total = 0;          // (case, trial) results the run will record
  double mean = 0;                // running mean while running; the run's mean once finished
  std::optional<RunSummary> summary;  // set once the run has finished
  std::string error;                  // why a failed run failed; empty otherwise

  bool is_finished() const;  // complete, cancelled or failed
};

// Lets a waiter follow a run. Both are optional and called without the manager's lock held.
struct WaitHooks {
  // Called when `done` grows (at most once per wake-up) and once when the run finishes.
  std::function<void(const RunSnapshot&)> on_progress;
  // Polled at every wake-up (at least every kWaitPollInterval); true ends the wait early.
  std::function<bool()> should_stop;
};

inline constexpr auto kWaitPollInterval = std::chrono::milliseconds(200);

class RunManager {
 public:
  explicit RunManager(Workspace workspace, RunManagerOptions options = {});
  ~RunManager();  // shutdown()
  RunManager(const RunManager&) = delete;
  RunManager& operator=(const RunManager&) = delete;

  const Workspace& workspace() const { return workspace_; }
  const RunManagerOptions& options() const { return options_; }

  // Starts `request` (which must not resume a run) in the background and returns once the
  // evaluator has created the run, with its id; or the evaluator's error when the run could not
  // start (unknown tenant, invalid chain, a dataset the scorer cannot read, ...). kConflict when
  // max_active_runs runs are active already (the message names them) or after shutdown().
  Result<RunSnapshot> start(EvalRequest request);

  // The run as this process knows it, else as the run store has it. kInvalidInput for a
  // malformed id, kNotFound for an unknown run.
  Result<RunSnapshot> snapshot(const std::string& tenant_id, const std::string& run_id) const;

  // Blocks until the run finishes, `timeout` passes, or hooks.should_stop() says so; returns the
  // latest snapshot. A run another process is writing (`fapo eval`) is followed on disk, by
  // reading its state every kWaitPollInterval.
  Result<RunSnapshot> wait(const std::string& tenant_id, const std::string& run_id,
                           std::chrono::milliseconds timeout, const WaitHooks& hooks = {});

  // Asks an active run to stop; it stops before its next model call and is recorded as
  // cancelled (it can be resumed). Returns at once. A finished run is returned unchanged. A
  // run another process is writing is kConflict (only that process can stop it).
  Result<RunSnapshot> cancel(const std::string& tenant_id, const std::string& run_id);

  // Runs active in this process (started and not finished), oldest first.
  std::vector<RunSnapshot> active_runs() const;

  // Refuses new runs, cancels the active ones and joins their threads. Idempotent.
  void shutdown();

 private:
  struct Entry;
  class Observer;

  std::shared_ptr<Entry> find_locked(const std::string& tenant_id,
                                     const std::string& run_id) const;
  Result<RunSnapshot> snapshot_from_disk(const std::string& tenant_id,
                                         const std::string& run_id) const;
  Result<RunSnapshot> wait_on_disk(const std::string& tenant_id, const std::string& run_id,
                                   std::chrono::steady_clock::time_point deadline,
                                   const WaitHooks& hooks);
  RunSnapshot snapshot_locked(const Entry& entry) const;
  std::size_t active_count_locked() const;
  Error busy_error_locked() const;
  void run_thread(const std::shared_ptr<Entry>& entry);
  void reap_finished();

  const Workspace workspace_;
  const RunManagerOptions options_;

  mutable std::mutex mutex_;  // guards everything below and every Entry's mutable fields
  std::condition_variable changed_;
  std::list<std::shared_ptr<Entry>> entries_;  // oldest first
  bool stopping_ = false;
};

}  // namespace fapo
