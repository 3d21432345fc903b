// The writing side of one run, obtained from RunStore::create or RunStore::reopen_for_resume.
// It holds the run's lock (one writer per run, across processes) for its lifetime, appends one
// result line per finished (case_id, trial), rewrites progress.json now and then, and writes
// manifest.json last.
//
// Durability: each result is one write(2) of a whole line, without fsync. A process killed at
// any point (even SIGKILL) loses nothing already appended, because the kernel has the bytes; a
// killed write leaves at most one partial last line, which readers skip and resume cuts. A
// power cut may lose the unsynced tail; resume then redoes those cases. finish() fsyncs the
// results before it writes the manifest, so a complete manifest always describes durable data.
//
// Thread safety: append_result, is_done, results_written, progress_due, write_progress and
// finish may be called from many worker threads at once; appends are serialised by a mutex,
// and a slow progress write never blocks an append (separate mutex). done() returns a reference
// into that guarded state: read it only before workers start appending (e.g. to skip work on
// resume), or use is_done. Moving a RunWriter while other threads use it is a bug.
#pragma once

#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <string_view>
#include <utility>

#include "engine/base/result.h"
#include "engine/run/run_plan.h"

namespace fapo {

class WallClock;
class RunLock;
struct RunFiles;

// Values of manifest.json's "status".
inline constexpr std::string_view kRunComplete = "complete";
inline constexpr std::string_view kRunCancelled = "cancelled";
inline constexpr std::string_view kRunFailed = "failed";

// progress.json is rewritten at most this often (see write_progress).
inline constexpr auto kProgressInterval = std::chrono::milliseconds(200);

class RunWriter {
 public:
  using DoneSet = std::set<std::pair<std::string, int>>;

  ~RunWriter();
  RunWriter(RunWriter&& other) noexcept;
  RunWriter& operator=(RunWriter&& other) noexcept;

  const RunPlan& plan() const;
  // (case_id, trial) pairs already in results.jsonl: those found on resume plus those appended.
  const DoneSet& done() const;
  bool is_done(const std::string& case_id, int trial) const;
  std::size_t results_written() const;

  // Appends one result. `line` must be an object with a string "case_id" that is in the plan
  // and an integer "trial" in [0, trials); anything else, a second result for a pair already
  // done, or an append after finish() is a bug in the caller: kInternal, nothing written.
  // After a failed write (disk full) every later append fails too: the run must be resumed.
  Status append_result(const nlohmann::json& line);

  // True when write_progress would write now: never written yet, or kProgressInterval passed on
  // the store's clock. Lets a caller skip building the progress object.
  bool progress_due() const;
  // Atomically rewrites progress.json with `progress` (an object) plus "results_written" and
  // "updated_at", if due or `force`d; otherwise returns at once without writing. An unforced
  // call never waits for another thread's progress write (that write wins; this one is skipped).
  Status write_progress(const nlohmann::json& progress, bool force = false);

  // Ends the run: fsyncs results.jsonl, then atomically writes manifest.json with the plan
  // summary, counts, the caller's `summary`, the SHA-256 and size of plan.json and
  // results.jsonl, and `status` (kRunComplete, kRunCancelled or kRunFailed). "complete" needs a
  // result for every (case, trial) pair. Releases the lock. A cancelled or failed run can be
  // resumed later; resuming removes its manifest. Calling finish twice is a bug (kInternal).
  Status finish(const nlohmann::json& summary, std::string status);

 private:
  friend class RunStore;
  struct State;

  static Result<RunWriter> make(const RunFiles& files, RunPlan plan, RunLock lock, DoneSet done,
                                const WallClock& clock);
  explicit RunWriter(std::unique_ptr<State> state);

  std::unique_ptr<State> state_;
};

}  // namespace fapo
