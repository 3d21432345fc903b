#include "engine/run/run_manager.h"

#include <algorithm>
#include <exception>
#include <thread>
#include <utility>

#include <spdlog/spdlog.h>

#include "engine/base/strings.h"

namespace fapo {

namespace {

using Clock = std::chrono::steady_clock;

RunState state_of_status(const std::string& status) {
  if (status == kRunComplete) return RunState::kComplete;
  if (status == kRunCancelled) return RunState::kCancelled;
  return RunState::kFailed;
}

}  // namespace

bool RunSnapshot::is_finished() const {
  return state == RunState::kComplete || state == RunState::kCancelled ||
         state == RunState::kFailed;
}

// One run started by this manager. `request` and `cancel` are set before the thread starts;
// every other field is guarded by RunManager::mutex_.
struct RunManager::Entry {
  EvalRequest request;
  std::atomic<bool> cancel{false};
  std::thread thread;  // moved out and joined once `finished` (reap_finished, shutdown)

  std::string run_id;
  std::string variant_id;
  bool started = false;   // the evaluator created the run: run_id is set
  bool finished = false;  // evaluate() returned
  std::size_t done = 0;
  std::size_t total = 0;
  double mean = 0;
  std::optional<RunSummary> summary;
  std::optional<Error> error;
};

// Feeds the evaluator's callbacks into the entry and wakes waiters.
class RunManager::Observer final : public EvalObserver {
 public:
  Observer(RunManager& manager, std::shared_ptr<Entry> entry)
      : manager_(manager), entry_(std::move(entry)) {}

  void on_started(const std::string& run_id, std::size_t total, std::size_t done) override {
    // The plan is on disk by now; its variant id is read here, off the manager's lock.
    std::string variant_id;
    auto plan = RunStore(manager_.workspace_, entry_->request.tenant_id).load_plan(run_id);
    if (plan.ok()) variant_id = plan->variant_id;
    std::lock_guard lock(manager_.mutex_);
    entry_->run_id = run_id;
    entry_->variant_id = std::move(variant_id);
    entry_->total = total;
    entry_->done = done;
    entry_->started = true;
    manager_.changed_.notify_all();
  }

  void on_result(std::size_t done, std::size_t total, double running_mean) override {
    std::lock_guard lock(manager_.mutex_);
    // Workers report in whatever order they finish: keep the furthest report.
    if (done <= entry_->done) return;
    entry_->done = done;
    entry_->total = total;
    entry_->mean = running_mean;
    manager_.changed_.notify_all();
  }

 private:
  RunManager& manager_;
  std::shared_ptr<Entry> entry_;
};

RunManager::RunManager(Workspace workspace, RunManagerOptions options)
    : workspace_(std::move(workspace)), options_(std::move(options)) {}

RunManager::~RunManager() { shutdown(); }

Result<RunSnapshot> RunManager::start(EvalRequest request) {
  if (!request.resume_run_id.empty()) {
    return make_error(ErrorCode::kInvalidInput,
                      "the run manager starts new runs only; resume a run with fapo eval --resume");
  }
  FAPO_RETURN_IF_ERROR(check_tenant_id(request.tenant_id));
  reap_finished();
  auto entry = std::make_shared<Entry>();
  entry->request = std::move(request);
  std::unique_lock lock(mutex_);
  if (stopping_) {
    return make_error(ErrorCode::kConflict, "the server is shutting down; no new runs start");
  }
  if (active_count_locked() >= options_.max_active_runs) return busy_error_locked();
  entries_.push_back(entry);
  entry->thread = std::thread([this, entry] { run_thread(entry); });
  changed_.wait(lock, [&] { return entry->started || entry->finished; });
  if (entry->started) return snapshot_locked(*entry);

  // The evaluator refused before creating a run: nothing to track.
  entries_.remove(entry);
  std::thread thread = std::move(entry->thread);
  Error error = entry->error.value_or(make_error(ErrorCode::kInternal, "the run did not start"));
  lock.unlock();
  if (thread.joinable()) thread.join();  // unless reap_finished or shutdown took it first
  return error;
}

void RunManager::run_thread(const std::shared_ptr<Entry>& entry) {
  Observer observer(*this, entry);
  std::optional<Result<RunSummary>> result;
  // A thread entry point: nothing may escape it.
  try {
    result.emplace(options_.evaluate
                       ? options_.evaluate(workspace_, entry->request, &observer, &entry->cancel)
                       : evaluate(workspace_, entry->request, &observer, &entry->cancel));
  } catch (const std::exception& e) {
    result.emplace(make_error(ErrorCode::kInternal, std::string("evaluation crashed: ") + e.what()));
  } catch (...) {
    result.emplace(make_error(ErrorCode::kInternal, "evaluation crashed"));
  }
  // A run that failed after it started left a manifest with its partial summary.
  std::optional<RunSummary> failed_summary;
  std::string run_id;
  {
    std::lock_guard lock(mutex_);
    run_id = entry->run_id;
  }
  if (!result->ok() && !run_id.empty()) {
    auto status = RunStore(workspace_, entry->request.tenant_id).status(run_id);
    if (status.ok() && status->manifest.is_object() && status->manifest.contains("summary")) {
      failed_summary = run_summary_from_json(status->manifest["summary"]);
      failed_summary->status = std::string(kRunFailed);
    }
  }
  std::lock_guard lock(mutex_);
  entry->finished = true;
  if (result->ok()) {
    entry->summary = std::move(result->value());
    entry->done = entry->summary->results;
    entry->mean = entry->summary->mean;
  } else {
    entry->error = result->error();
    entry->summary = std::move(failed_summary);
    if (entry->started) {
      spdlog::warn("run {} failed: {}", entry->run_id, entry->error->message);
    }
  }
  changed_.notify_all();
}

Result<RunSnapshot> RunManager::snapshot(const std::string& tenant_id,
                                         const std::string& run_id) const {
  FAPO_RETURN_IF_ERROR(check_tenant_id(tenant_id));
  FAPO_RETURN_IF_ERROR(check_run_id(run_id));
  {
    std::lock_guard lock(mutex_);
    if (auto entry = find_locked(tenant_id, run_id)) return snapshot_locked(*entry);
  }
  return snapshot_from_disk(tenant_id, run_id);
}

Result<RunSnapshot> RunManager::wait(const std::string& tenant_id, const std::string& run_id,
                                     std::chrono::milliseconds timeout, const WaitHooks& hooks) {
  FAPO_RETURN_IF_ERROR(check_tenant_id(tenant_id));
  FAPO_RETURN_IF_ERROR(check_run_id(run_id));
  const auto deadline = Clock::now() + timeout;
  std::unique_lock lock(mutex_);
  std::shared_ptr<Entry> entry = find_locked(tenant_id, run_id);
  if (!entry) {
    lock.unlock();
    return wait_on_disk(tenant_id, run_id, deadline, hooks);
  }
  std::size_t reported = entry->done;
  while (!entry->finished && Clock::now() < deadline) {
    changed_.wait_until(lock, std::min(deadline, Clock::now() + kWaitPollInterval));
    if (stopping_) break;
    if (entry->done > reported && !entry->finished && hooks.on_progress) {
      reported = entry->done;
      RunSnapshot progress = snapshot_locked(*entry);
      lock.unlock();
      hooks.on_progress(progress);
      lock.lock();
    }
    if (hooks.should_stop) {
      lock.unlock();
      const bool stop = hooks.should_stop();
      lock.lock();
      if (stop) break;
    }
  }
  RunSnapshot latest = snapshot_locked(*entry);
  lock.unlock();
  if (latest.is_finished() && hooks.on_progress) hooks.on_progress(latest);
  return latest;
}

Result<RunSnapshot> RunManager::wait_on_disk(const std::string& tenant_id,
                                             const std::string& run_id,
                                             Clock::time_point deadline, const WaitHooks& hooks) {
  FAPO_ASSIGN_OR_RETURN(RunSnapshot latest, snapshot_from_disk(tenant_id, run_id));
  std::size_t reported = latest.done;
  while (latest.state == RunState::kRunning && Clock::now() < deadline) {
    {
      // The condition variable only makes shutdown() end the pause early.
      std::unique_lock lock(mutex_);
      changed_.wait_until(lock, std::min(deadline, Clock::now() + kWaitPollInterval));
      if (stopping_) break;
    }
    if (hooks.should_stop && hooks.should_stop()) break;
    FAPO_ASSIGN_OR_RETURN(latest, snapshot_from_disk(tenant_id, run_id));
    if (latest.done > reported && latest.state == RunState::kRunning && hooks.on_progress) {
      reported = latest.done;
      hooks.on_progress(latest);
    }
  }
  if (latest.is_finished() && hooks.on_progress) hooks.on_progress(latest);
  return latest;
}

Result<RunSnapshot> RunManager::cancel(const std::string& tenant_id, const std::string& run_id) {
  FAPO_RETURN_IF_ERROR(check_tenant_id(tenant_id));
  FAPO_RETURN_IF_ERROR(check_run_id(run_id));
  {
    std::lock_guard lock(mutex_);
    if (auto entry = find_locked(tenant_id, run_id)) {
      if (!entry->finished) {
        entry->cancel.store(true);
        spdlog::info("run {} cancellation requested", run_id);
      }
      return snapshot_locked(*entry);
    }
  }
  FAPO_ASSIGN_OR_RETURN(RunSnapshot snapshot, snapshot_from_disk(tenant_id, run_id));
  if (snapshot.state == RunState::kRunning) {
    return make_error(ErrorCode::kConflict,
                      "run " + run_id + " is being evaluated by another process (for example "
                      "`fapo eval`); only that process can stop it (Ctrl-C there)");
  }
  return snapshot;
}

std::vector<RunSnapshot> RunManager::active_runs() const {
  std::lock_guard lock(mutex_);
  std::vector<RunSnapshot> active;
  for (const auto& entry : entries_) {
    if (entry->started && !entry->finished) active.push_back(snapshot_locked(*entry));
  }
  return active;
}

void RunManager::shutdown() {
  std::vector<std::thread> threads;
  std::size_t cancelled = 0;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    for (auto& entry : entries_) {
      if (!entry->finished && !entry->cancel.exchange(true)) ++cancelled;
      if (entry->thread.joinable()) threads.push_back(std::move(entry->thread));
    }
    changed_.notify_all();
  }
  if (cancelled > 0) spdlog::info("shutting down: cancelling {} active run(s)", cancelled);
  for (auto& thread : threads) thread.join();
}

std::shared_ptr<RunManager::Entry> RunManager::find_locked(const std::string& tenant_id,
                                                           const std::string& run_id) const {
  for (const auto& entry : entries_) {
    if (entry->started && entry->run_id == run_id && entry->request.tenant_id == tenant_id) {
      return entry;
    }
  }
  return nullptr;
}

RunSnapshot RunManager::snapshot_locked(const Entry& entry) const {
  RunSnapshot snapshot;
  snapshot.run_id = entry.run_id;
  snapshot.tenant_id = entry.request.tenant_id;
  snapshot.split = entry.request.split;
  snapshot.trials = entry.request.trials;
  snapshot.variant_id = entry.variant_id;
  snapshot.active = !entry.finished;
  snapshot.cancel_requested = !entry.finished && entry.cancel.load();
  snapshot.done = entry.done;
  snapshot.total = entry.total;
  snapshot.mean = entry.mean;
  snapshot.summary = entry.summary;
  if (!entry.finished) {
    snapshot.state = RunState::kRunning;
  } else if (entry.error) {
    snapshot.state = RunState::kFailed;
    snapshot.error = entry.error->message;
  } else {
    snapshot.state = state_of_status(entry.summary->status);
  }
  return snapshot;
}

Result<RunSnapshot> RunManager::snapshot_from_disk(const std::string& tenant_id,
                                                   const std::string& run_id) const {
  RunStore store(workspace_, tenant_id);
  FAPO_ASSIGN_OR_RETURN(RunStatus status, store.status(run_id));
  FAPO_ASSIGN_OR_RETURN(RunPlan plan, store.load_plan(run_id));
  RunSnapshot snapshot;
  snapshot.run_id = run_id;
  snapshot.tenant_id = tenant_id;
  snapshot.split = plan.split;
  snapshot.trials = plan.trials;
  snapshot.variant_id = plan.variant_id;
  snapshot.state = status.state;
  snapshot.total = plan.case_ids.size() * static_cast<std::size_t>(plan.trials);
  if (status.manifest.is_object() && status.manifest.contains("summary") &&
      status.manifest["summary"].is_object()) {
    RunSummary summary = run_summary_from_json(status.manifest["summary"]);
    summary.status = run_state_name(status.state);
    snapshot.done = summary.results;
    snapshot.mean = summary.mean;
    snapshot.summary = std::move(summary);
  } else if (status.progress.is_object()) {
    snapshot.done = status.progress.value("done", std::size_t{0});
    snapshot.mean = status.progress.value("mean", 0.0);
  }
  return snapshot;
}

std::size_t RunManager::active_count_locked() const {
  return static_cast<std::size_t>(std::count_if(
      entries_.begin(), entries_.end(), [](const auto& entry) { return !entry->finished; }));
}

Error RunManager::busy_error_locked() const {
  std::vector<std::string> names;
  for (const auto& entry : entries_) {
    if (entry->finished) continue;
    names.push_back(entry->started ? "run " + entry->run_id + " (tenant " +
                                         entry->request.tenant_id + ", " + entry->request.split +
                                         ")"
                                   : "a run of tenant " + entry->request.tenant_id +
                                         " that is starting");
  }
  return make_error(ErrorCode::kConflict,
                    "at most " + std::to_string(options_.max_active_runs) +
                        " evaluations run at once and these are running: " + join(names, ", ") +
                        "; wait for one to finish or cancel one, then start again");
}

void RunManager::reap_finished() {
  std::vector<std::thread> threads;
  {
    std::lock_guard lock(mutex_);
    for (auto& entry : entries_) {
      if (entry->finished && entry->thread.joinable()) threads.push_back(std::move(entry->thread));
    }
    // Forget the oldest finished runs beyond the limit; the run store still has them.
    std::size_t finished = static_cast<std::size_t>(std::count_if(
        entries_.begin(), entries_.end(), [](const auto& entry) { return entry->finished; }));
    for (auto it = entries_.begin(); it != entries_.end() && finished > options_.finished_runs_kept;) {
      if ((*it)->finished && !(*it)->thread.joinable()) {
        it = entries_.erase(it);
        --finished;
      } else {
        ++it;
      }
    }
  }
  for (auto& thread : threads) thread.join();
}

}  // namespace fapo
