#include "engine/run/run_store.h"

#include <algorithm>
#include <unordered_set>

#include "engine/base/files.h"
#include "engine/run/results_file.h"
#include "engine/run/run_lock.h"

namespace fapo {
namespace {

using nlohmann::json;

// "r20250102-030405": the part of a run id that is its creation second.
constexpr std::size_t kRunIdTimeLength = 16;
constexpr std::size_t kRunsShownWhenMissing = 5;

// Reads a JSON file the store wrote. kNotFound when absent; kConflict when unparsable, since
// the store only writes these files atomically.
Result<json> read_json_file(const fs::path& path, const std::string& shown_as) {
  auto text = read_file(path);
  if (!text.ok()) return text.error();
  json value = json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded()) {
    return make_error(ErrorCode::kConflict,
                      shown_as + ": not valid JSON; the file was damaged outside fapo");
  }
  return value;
}

Status check_plan(const RunPlan& plan) {
  if (plan.trials < 1) {
    return make_error(ErrorCode::kInvalidInput,
                      "run plan: trials must be at least 1, got " + std::to_string(plan.trials));
  }
  std::unordered_set<std::string> seen;
  for (const std::string& id : plan.case_ids) {
    if (!seen.insert(id).second) {
      return make_error(ErrorCode::kInvalidInput,
                        "run plan: case '" + id + "' is listed twice; case ids must be unique");
    }
  }
  return ok_status();
}

// The "status" a manifest records, or "" when it has none (never throws on odd types).
std::string final_status_of(const json& manifest) {
  if (!manifest.is_object()) return "";
  auto it = manifest.find("status");
  return it != manifest.end() && it->is_string() ? it->get<std::string>() : "";
}

// Created-at of a run for ordering runs created in the same second; "" when unreadable.
std::string created_at_of(const fs::path& plan_path) {
  auto plan = read_json_file(plan_path, plan_path.string());
  if (!plan.ok() || !plan->is_object()) return "";
  auto it = plan->find("created_at");
  return it != plan->end() && it->is_string() ? it->get<std::string>() : "";
}

}  // namespace

const char* run_state_name(RunState state) {
  switch (state) {
    case RunState::kRunning:
      return "running";
    case RunState::kInterrupted:
      return "interrupted";
    case RunState::kComplete:
      return "complete";
    case RunState::kCancelled:
      return "cancelled";
    case RunState::kFailed:
      return "failed";
  }
  return "unknown";
}

RunStore::RunStore(const Workspace& workspace, std::string tenant_id, const WallClock& clock)
    : workspace_(workspace), tenant_id_(std::move(tenant_id)), clock_(&clock) {
  (void)workspace_.state_dir(tenant_id_);  // an invalid id stops here, not at first use
}

Result<RunWriter> RunStore::create(RunPlan plan) {
  if (!plan.tenant_id.empty() && plan.tenant_id != tenant_id_) {
    return make_error(ErrorCode::kInternal, "run plan for tenant '" + plan.tenant_id +
                                                "' given to the run store of '" + tenant_id_ + "'");
  }
  FAPO_RETURN_IF_ERROR(check_plan(plan));
  fs::path runs_dir = workspace_.runs_dir(tenant_id_);
  std::error_code ec;
  fs::create_directories(runs_dir, ec);
  if (ec) return make_error(ErrorCode::kIo, runs_dir.string() + ": cannot create: " + ec.message());

  WallTime now = clock_->now();
  FAPO_ASSIGN_OR_RETURN(std::string run_id, create_run_dir(runs_dir, now));
  RunFiles files = workspace_.run_files(tenant_id_, run_id);
  auto writer = [&]() -> Result<RunWriter> {
    FAPO_ASSIGN_OR_RETURN(RunLock lock, RunLock::acquire(files.lock, run_id));
    plan.run_id = run_id;
    plan.tenant_id = tenant_id_;
    if (plan.created_at.empty()) plan.created_at = format_timestamp(now);
    FAPO_RETURN_IF_ERROR(write_file_atomic(
        files.plan, to_json(plan).dump(2, ' ', false, json::error_handler_t::replace)));
    return RunWriter::make(files, std::move(plan), std::move(lock), {}, *clock_);
  }();
  if (!writer.ok()) fs::remove_all(files.dir, ec);  // a run without a plan is not a run
  return writer;
}

Result<RunWriter> RunStore::reopen_for_resume(const std::string& run_id) {
  FAPO_ASSIGN_OR_RETURN(RunFiles files, existing_run(run_id));
  FAPO_ASSIGN_OR_RETURN(RunLock lock, RunLock::acquire(files.lock, run_id));
  FAPO_ASSIGN_OR_RETURN(RunPlan plan, load_plan(run_id));
  FAPO_RETURN_IF_ERROR(clear_unfinished_manifest(files, run_id));
  std::error_code ec;
  if (fs::exists(files.results, ec)) {
    // Only the lock holder may cut the file: a reader would cut a write in progress.
    auto dropped = drop_partial_last_line(files.results);
    if (!dropped.ok()) return dropped.error().with_context("resuming run " + run_id);
  }
  FAPO_ASSIGN_OR_RETURN(RunWriter::DoneSet done, read_done(files, plan));
  return RunWriter::make(files, std::move(plan), std::move(lock), std::move(done), *clock_);
}

Status RunStore::clear_unfinished_manifest(const RunFiles& files, const std::string& run_id) const {
  std::error_code ec;
  if (!fs::exists(files.manifest, ec)) return ok_status();
  std::string shown = workspace_.display_path(files.manifest);
  FAPO_ASSIGN_OR_RETURN(json manifest, read_json_file(files.manifest, shown));
  if (final_status_of(manifest) == kRunComplete) {
    return make_error(ErrorCode::kConflict,
                      "run " + run_id + " is already complete; start a new run");
  }
  // A cancelled or failed run goes back to unfinished: its manifest would describe a results
  // file that is about to grow.
  if (!fs::remove(files.manifest, ec) && ec) {
    return make_error(ErrorCode::kIo, shown + ": cannot remove: " + ec.message());
  }
  return ok_status();
}

Result<RunWriter::DoneSet> RunStore::read_done(const RunFiles& files, const RunPlan& plan) const {
  std::unordered_set<std::string> plan_cases(plan.case_ids.begin(), plan.case_ids.end());
  std::string shown = workspace_.display_path(files.results);
  RunWriter::DoneSet done;
  auto visit = [&](const json& line, std::size_t number) -> Status {
    std::string where = shown + ":" + std::to_string(number);
    auto key = result_key(line);
    if (!key.ok()) return make_error(ErrorCode::kConflict, where + ": " + key.error().message);
    if (plan_cases.count(key->first) == 0 || key->second < 0 || key->second >= plan.trials) {
      return make_error(ErrorCode::kConflict, where + ": case '" + key->first + "' trial " +
                                                  std::to_string(key->second) +
                                                  " is not part of the run's plan");
    }
    if (!done.insert(*key).second) {
      return make_error(ErrorCode::kConflict, where + ": case '" + key->first + "' trial " +
                                                  std::to_string(key->second) +
                                                  " appears a second time");
    }
    return ok_status();
  };
  FAPO_RETURN_IF_ERROR(for_each_result_line(files.results, shown, visit));
  return done;
}

Result<RunPlan> RunStore::load_plan(const std::string& run_id) const {
  FAPO_ASSIGN_OR_RETURN(RunFiles files, existing_run(run_id));
  std::string shown = workspace_.display_path(files.plan);
  FAPO_ASSIGN_OR_RETURN(json value, read_json_file(files.plan, shown));
  auto plan = run_plan_from_json(value, shown);
  if (!plan.ok()) return Error{ErrorCode::kConflict, plan.error().message};
  return plan;
}

Result<RunStatus> RunStore::status(const std::string& run_id) const {
  FAPO_ASSIGN_OR_RETURN(RunFiles files, existing_run(run_id));
  RunStatus status;
  status.run_id = run_id;
  // Probe the lock before looking for the manifest: a writer writes the manifest and only then
  // unlocks, so a finishing run is never mistaken for an interrupted one.
  bool locked = RunLock::is_locked(files.lock);
  std::error_code ec;
  if (fs::exists(files.manifest, ec)) {
    FAPO_ASSIGN_OR_RETURN(status.manifest,
                          read_json_file(files.manifest, workspace_.display_path(files.manifest)));
    std::string final_status = final_status_of(status.manifest);
    status.state = final_status == kRunComplete    ? RunState::kComplete
                   : final_status == kRunCancelled ? RunState::kCancelled
                                                   : RunState::kFailed;
  } else {
    status.state = locked ? RunState::kRunning : RunState::kInterrupted;
  }
  // Progress is advisory: a missing or unreadable file just means no progress to show.
  auto progress = read_json_file(files.progress, files.progress.string());
  if (progress.ok()) status.progress = std::move(*progress);
  return status;
}

std::vector<std::string> RunStore::list_runs() const {
  std::vector<std::string> ids;
  std::error_code ec;
  fs::directory_iterator it(workspace_.runs_dir(tenant_id_), ec);
  for (; !ec && it != fs::directory_iterator(); it.increment(ec)) {
    std::string name = it->path().filename().string();
    std::error_code entry_ec;
    if (!check_run_id(name).ok() || !fs::is_regular_file(it->path() / "plan.json", entry_ec)) {
      continue;
    }
    ids.push_back(std::move(name));
  }
  std::sort(ids.begin(), ids.end());
  // Ids order runs to the second; within a second, the plan's created_at (milliseconds) decides.
  for (auto first = ids.begin(); first != ids.end();) {
    auto last = std::find_if(first, ids.end(), [&](const std::string& id) {
      return id.compare(0, kRunIdTimeLength, *first, 0, kRunIdTimeLength) != 0;
    });
    if (last - first > 1) {
      std::vector<std::pair<std::string, std::string>> keyed;
      for (auto id = first; id != last; ++id) {
        keyed.emplace_back(created_at_of(workspace_.run_files(tenant_id_, *id).plan), *id);
      }
      std::sort(keyed.begin(), keyed.end());
      for (auto& [created_at, id] : keyed) *first++ = std::move(id);
    }
    first = last;
  }
  return ids;
}

Status RunStore::for_each_result(const std::string& run_id,
                                 const std::function<void(const json&)>& visit) const {
  FAPO_ASSIGN_OR_RETURN(RunFiles files, existing_run(run_id));
  return for_each_result_line(files.results, workspace_.display_path(files.results),
                              [&](const json& line, std::size_t) {
                                visit(line);
                                return ok_status();
                              });
}

Result<RunFiles> RunStore::existing_run(const std::string& run_id) const {
  FAPO_RETURN_IF_ERROR(check_run_id(run_id));
  RunFiles files = workspace_.run_files(tenant_id_, run_id);
  std::error_code ec;
  if (fs::is_regular_file(files.plan, ec)) return files;
  std::vector<std::string> runs = list_runs();
  std::string message = "no run " + run_id + " in tenant '" + tenant_id_ + "'";
  if (runs.empty()) {
    message += "; the tenant has no runs yet";
  } else {
    std::size_t shown = std::min(runs.size(), kRunsShownWhenMissing);
    std::vector<std::string> latest(runs.end() - static_cast<std::ptrdiff_t>(shown), runs.end());
    message += "; latest runs (newest last): ";
    for (std::size_t i = 0; i < latest.size(); ++i) message += (i ? ", " : "") + latest[i];
    message += "; the history tool lists them all";
  }
  return make_error(ErrorCode::kNotFound, message);
}

}  // namespace fapo
