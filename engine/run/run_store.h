// The runs of one tenant on disk, under <workspace>/.fapo/<tenant>/runs/<run_id>/:
//
//   plan.json      the RunPlan, written atomically when the run is created; never changes
//   results.jsonl  one JSON object per finished (case_id, trial), appended (see RunWriter)
//   progress.json  the writer's latest progress, rewritten atomically at most every 200 ms
//   manifest.json  written last, atomically: plan summary, counts, the caller's summary
//                  metrics, SHA-256 of plan.json and results.jsonl, and "status"
//   lock           flock(2)ed by the one writer (see RunLock)
//
// A run is complete iff manifest.json exists with status "complete"; such a run never changes
// again. A run without a manifest was interrupted (or is being written right now); a run whose
// manifest says "cancelled" or "failed" ended early. Both can be resumed: reopen_for_resume
// removes a non-complete manifest, drops a partial last result line and carries on after the
// results already written. A directory without plan.json (a creation that died half-way) is
// not a run and is ignored.
//
// Thread safety: a RunStore is an immutable value; every member is safe to call from several
// threads, and several processes can share a workspace: run ids come from mkdir, writers are
// exclusive per run by flock, and readers tolerate a writer appending underneath them.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "engine/base/result.h"
#include "engine/run/run_id.h"
#include "engine/run/run_plan.h"
#include "engine/run/run_writer.h"
#include "engine/run/workspace.h"

namespace fapo {

enum class RunState {
  kRunning,      // no manifest, and a writer holds the run's lock
  kInterrupted,  // no manifest and no writer: the process stopped; resumable
  kComplete,
  kCancelled,  // resumable
  kFailed,     // resumable
};

const char* run_state_name(RunState state);  // "running", "interrupted", "complete", ...

struct RunStatus {
  std::string run_id;
  RunState state = RunState::kInterrupted;
  nlohmann::json progress;  // the latest progress.json, or null when none was written (yet)
  nlohmann::json manifest;  // manifest.json, or null while the run has none
};

class RunStore {
 public:
  // `tenant_id` must already be valid (check_tenant_id); see Workspace on invalid ids.
  // `clock` stamps run ids, created_at and progress; it must outlive the store and its writers.
  RunStore(const Workspace& workspace, std::string tenant_id,
           const WallClock& clock = system_wall_clock());

  const std::string& tenant_id() const { return tenant_id_; }

  // Starts a new run: picks a unique id, takes the run's lock, writes plan.json. Fills
  // plan.run_id, plan.tenant_id (when empty) and plan.created_at (when empty). kInvalidInput
  // when trials < 1 or a case id repeats; kInternal when plan.tenant_id names another tenant.
  Result<RunWriter> create(RunPlan plan);

  // Continues a run that was interrupted, cancelled or failed. kNotFound for an unknown run
  // (the message lists the latest runs), kConflict when the run is complete or another writer
  // holds it, kConflict when results.jsonl contradicts the plan (damaged outside fapo).
  Result<RunWriter> reopen_for_resume(const std::string& run_id);

  Result<RunPlan> load_plan(const std::string& run_id) const;
  Result<RunStatus> status(const std::string& run_id) const;

  // Run ids that have a plan.json, oldest first, newest last (by creation time; runs created
  // in the same millisecond are ordered by id).
  std::vector<std::string> list_runs() const;

  // Streams the result lines written so far, in file order. Skips a partial last line (a write
  // in progress), so it is safe while a writer appends. `visit` must not throw.
  Status for_each_result(const std::string& run_id,
                         const std::function<void(const nlohmann::json&)>& visit) const;

 private:
  // The files of an existing run, after checking the id: kInvalidInput or kNotFound.
  Result<RunFiles> existing_run(const std::string& run_id) const;
  Result<RunWriter::DoneSet> read_done(const RunFiles& files, const RunPlan& plan) const;
  Status clear_unfinished_manifest(const RunFiles& files, const std::string& run_id) const;

  Workspace workspace_;
  std::string tenant_id_;
  const WallClock* clock_;
};

}  // namespace fapo
