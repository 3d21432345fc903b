// A stand-in for fapo::evaluate that tests drive step by step, so run-manager behaviour
// (a run that stays running, progress, cancellation, a refusal before the run exists) is
// tested without timing. Each call reports on_started with a fresh, valid run id, then records
// results only as the test allows them, and returns when the test finishes the run or the
// caller cancels it. Thread-safe; must outlive the RunManager that calls it.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "engine/run/run_manager.h"

namespace fapo::testing {

class ScriptedEvaluator {
 public:
  static constexpr std::size_t kResultsPerRun = 4;

  EvaluateFunction function() {
    return [this](const Workspace&, const EvalRequest& request, EvalObserver* observer,
                  const std::atomic<bool>* cancel) { return run(request, *observer, *cancel); };
  }

  // The next call fails with `error` before creating a run.
  void fail_next(Error error) {
    std::lock_guard lock(mutex_);
    next_failure_ = std::move(error);
  }

  // Lets run `run_id` record results up to `count`.
  void allow(const std::string& run_id, std::size_t count) {
    std::lock_guard lock(mutex_);
    runs_[run_id].allowed = count;
    changed_.notify_all();
  }
  // Lets run `run_id` record all its results and complete.
  void complete(const std::string& run_id) {
    std::lock_guard lock(mutex_);
    runs_[run_id].allowed = kResultsPerRun;
    runs_[run_id].finish = true;
    changed_.notify_all();
  }
  // True once some call saw its cancellation flag set (the manager does not signal us).
  bool saw_cancel(const std::string& run_id) {
    std::lock_guard lock(mutex_);
    return runs_[run_id].saw_cancel;
  }

 private:
  struct Script {
    std::size_t allowed = 0;
    bool finish = false;
    bool saw_cancel = false;
  };

  Result<RunSummary> run(const EvalRequest& request, EvalObserver& observer,
                         const std::atomic<bool>& cancel) {
    std::string run_id;
    {
      std::lock_guard lock(mutex_);
      if (next_failure_) {
        Error error = *next_failure_;
        next_failure_.reset();
        return error;
      }
      char id[32];
      std::snprintf(id, sizeof id, "r20260101-000000-%06x", ++count_);
      run_id = id;
      runs_[run_id];
    }
    observer.on_started(run_id, kResultsPerRun, 0);
    std::size_t done = 0;
    std::unique_lock lock(mutex_);
    while (true) {
      Script& script = runs_[run_id];
      while (done < script.allowed && done < kResultsPerRun) {
        ++done;
        lock.unlock();
        observer.on_result(done, kResultsPerRun, 50.0);
        lock.lock();
      }
      if (cancel.load()) {
        runs_[run_id].saw_cancel = true;
        return summary(request, run_id, done, "cancelled");
      }
      if (runs_[run_id].finish) return summary(request, run_id, done, "complete");
      // The cancellation flag is an atomic nobody notifies: look at it now and then.
      changed_.wait_for(lock, std::chrono::milliseconds(5));
    }
  }

  static RunSummary summary(const EvalRequest& request, const std::string& run_id,
                            std::size_t done, const std::string& status) {
    RunSummary summary;
    summary.run_id = run_id;
    summary.tenant_id = request.tenant_id;
    summary.split = request.split;
    summary.status = status;
    summary.model_provider = "sim";
    summary.trials = request.trials;
    summary.cases = kResultsPerRun;
    summary.results = done;
    summary.scored = done;
    summary.mean = 50.0;
    return summary;
  }

  std::mutex mutex_;
  std::condition_variable changed_;
  std::map<std::string, Script> runs_;
  std::optional<Error> next_failure_;
  unsigned count_ = 0;
};

}  // namespace fapo::testing
