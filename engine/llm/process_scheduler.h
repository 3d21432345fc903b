// The one Scheduler of a process. Every run of every tenant sends its real model calls through
// it, so concurrency, request- and token-per-minute limits hold for the process as a whole
// (lanes are per provider, endpoint and model; see scheduler.h), however many runs go at once.
//
// Tests and benchmarks may install their own scheduler (a ManualClock one, so backoffs and
// Retry-After cost no real time) with ScopedProcessScheduler. Thread-safe, except that an
// override must not be installed or removed while calls are in progress.
#pragma once

#include "engine/llm/scheduler.h"

namespace fapo {

// The installed override, or a scheduler with default options on the real clock, created on
// first use and kept for the life of the process.
Scheduler& process_scheduler();

// Makes process_scheduler() return `scheduler` until destroyed; restores the previous one.
class ScopedProcessScheduler {
 public:
  explicit ScopedProcessScheduler(Scheduler& scheduler);
  ~ScopedProcessScheduler();
  ScopedProcessScheduler(const ScopedProcessScheduler&) = delete;
  ScopedProcessScheduler& operator=(const ScopedProcessScheduler&) = delete;

 private:
  Scheduler* previous_;
};

}  // namespace fapo
