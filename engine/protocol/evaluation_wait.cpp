#include "engine/protocol/evaluation_wait.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <system_error>

namespace fapo {
namespace {

using Clock = std::chrono::steady_clock;

// Sums what is known of every run; each run's count only grows, so the sum does too.
class ProgressTotal {
 public:
  ProgressTotal(const std::vector<PendingEvaluation>& evaluations, const WaitOptions& wait)
      : wait_(wait) {
    for (const PendingEvaluation& evaluation : evaluations) update(evaluation.run, false);
  }

  void update(const RunSnapshot& run, bool report) {
    auto& [done, total] = runs_[run.run_id];
    done = std::max(done, run.done);
    total = std::max(total, run.total);
    if (!report || !wait_.on_progress) return;
    std::size_t all_done = 0;
    std::size_t all_total = 0;
    for (const auto& [id, counts] : runs_) {
      all_done += counts.first;
      all_total += counts.second;
    }
    wait_.on_progress(all_done, all_total,
                      std::to_string(all_done) + "/" + std::to_string(all_total) + " results of " +
                          std::to_string(runs_.size()) + " evaluation(s)");
  }

 private:
  const WaitOptions& wait_;
  std::map<std::string, std::pair<std::size_t, std::size_t>> runs_;
};

}  // namespace

Result<bool> wait_for_evaluations(RunManager& runs, std::vector<PendingEvaluation>& evaluations,
                                  const WaitOptions& wait) {
  const auto deadline = Clock::now() + wait.timeout;
  ProgressTotal progress(evaluations, wait);
  bool all_finished = true;
  for (PendingEvaluation& evaluation : evaluations) {
    if (evaluation.run.is_finished()) continue;
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    const bool stop = wait.should_stop && wait.should_stop();
    if (left.count() > 0 && !stop) {
      WaitHooks hooks;
      hooks.on_progress = [&](const RunSnapshot& now) { progress.update(now, true); };
      hooks.should_stop = wait.should_stop;
      FAPO_ASSIGN_OR_RETURN(evaluation.run,
                            runs.wait(evaluation.run.tenant_id, evaluation.run_id, left, hooks));
    } else {
      // Out of time: still refresh what is known, so the caller reports current progress.
      FAPO_ASSIGN_OR_RETURN(evaluation.run,
                            runs.snapshot(evaluation.run.tenant_id, evaluation.run_id));
    }
    all_finished = all_finished && evaluation.run.is_finished();
  }
  return all_finished;
}

Error cancel_unjournaled(RunManager& runs, const std::string& run_id, const Error& error) {
  for (const RunSnapshot& run : runs.active_runs()) {
    if (run.run_id == run_id) (void)runs.cancel(run.tenant_id, run_id);
  }
  return error.with_context("run " + run_id + " was cancelled because it could not be journaled");
}

ProtocolLock::~ProtocolLock() {
  if (fd_ >= 0) ::close(fd_);  // closing the description drops the flock
}

Result<ProtocolLock> ProtocolLock::acquire(const std::filesystem::path& lock_path) {
  std::error_code ec;
  std::filesystem::create_directories(lock_path.parent_path(), ec);
  if (ec) {
    return make_error(ErrorCode::kIo,
                      "cannot create " + lock_path.parent_path().string() + ": " + ec.message());
  }
  ProtocolLock lock;
  lock.fd_ = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lock.fd_ < 0) {
    return make_error(ErrorCode::kIo,
                      "cannot open " + lock_path.string() + ": " + std::strerror(errno));
  }
  while (::flock(lock.fd_, LOCK_EX) != 0) {
    if (errno == EINTR) continue;
    return make_error(ErrorCode::kIo,
                      "cannot lock " + lock_path.string() + ": " + std::strerror(errno));
  }
  return lock;
}

}  // namespace fapo
