#include "engine/llm/process_scheduler.h"

#include <atomic>

namespace fapo {
namespace {

std::atomic<Scheduler*> g_override{nullptr};

}  // namespace

Scheduler& process_scheduler() {
  if (Scheduler* installed = g_override.load()) return *installed;
  // Never destroyed: worker threads of a run may still hold it while static objects go away.
  static Scheduler* const kShared = new Scheduler();
  return *kShared;
}

ScopedProcessScheduler::ScopedProcessScheduler(Scheduler& scheduler)
    : previous_(g_override.exchange(&scheduler)) {}

ScopedProcessScheduler::~ScopedProcessScheduler() { g_override.store(previous_); }

}  // namespace fapo
