// Waiting for the evaluations a protocol step (compare, final test) started or found running:
// bounded by the caller's timeout, with one progress figure over all of them, and stoppable by
// the caller (the runs go on in the background; a later call picks them up). Also the per-tenant
// file lock under which protocol steps look for running evaluations and start new ones, so that
// two concurrent calls never start the same evaluation twice.
//
// Thread safety: free functions, safe from any thread; a ProtocolLock is held by one thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "engine/base/result.h"
#include "engine/run/run_manager.h"

namespace fapo {

// How long compare and final_test wait for their evaluations, and how they report meanwhile.
// Both callbacks are optional and called on the waiting thread.
struct WaitOptions {
  std::chrono::milliseconds timeout{0};
  // (case, trial) results done and expected over every run waited for; never decreases.
  std::function<void(std::size_t done, std::size_t total, const std::string& message)> on_progress;
  // True ends the wait early.
  std::function<bool()> should_stop;
};

// One evaluation a compare or final_test call started or is waiting for.
struct PendingEvaluation {
  std::string variant_id;
  std::string name;  // "v003"
  std::string run_id;
  int trials = 0;
  bool started_now = false;  // started by this call (else found running)
  RunSnapshot run;           // as last seen
};

// Waits for every evaluation in turn until all have finished, the timeout passes or
// should_stop() says so, updating each one's `run`. True when every one has finished.
Result<bool> wait_for_evaluations(RunManager& runs, std::vector<PendingEvaluation>& evaluations,
                                  const WaitOptions& wait);

// Cancels a run that started but could not be journaled (an evaluation the journal does not know
// of would escape the validation cap and the one-test-run rule); returns `error` with context.
Error cancel_unjournaled(RunManager& runs, const std::string& run_id, const Error& error);

// An exclusive flock(2) on a lock file, blocking until it is free (the sections it guards are
// short: look up runs, start one, journal it). Works between threads of one process too, since
// every acquire opens the file anew. Released on destruction.
class ProtocolLock {
 public:
  ProtocolLock() = default;
  ~ProtocolLock();
  ProtocolLock(const ProtocolLock&) = delete;
  ProtocolLock& operator=(const ProtocolLock&) = delete;
  ProtocolLock(ProtocolLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  ProtocolLock& operator=(ProtocolLock&&) = delete;

  static Result<ProtocolLock> acquire(const std::filesystem::path& lock_path);

 private:
  int fd_ = -1;
};

}  // namespace fapo
