#include "engine/run/run_writer.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <limits>
#include <mutex>
#include <unordered_set>

#include "engine/base/files.h"
#include "engine/run/results_file.h"
#include "engine/run/run_id.h"
#include "engine/run/run_lock.h"
#include "engine/run/workspace.h"

namespace fapo {
namespace {

using nlohmann::json;

constexpr int kManifestFormatVersion = 1;
constexpr std::int64_t kNeverMicros = std::numeric_limits<std::int64_t>::min();

std::int64_t to_micros(WallTime time) {
  return std::chrono::duration_cast<std::chrono::microseconds>(time.time_since_epoch()).count();
}

// Makes the directory entries (renames, new files) in `dir` durable.
Status sync_directory(const fs::path& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    return make_error(ErrorCode::kIo, dir.string() + ": cannot open: " + std::strerror(errno));
  }
  int rc = ::fsync(fd);
  int saved = errno;
  ::close(fd);
  if (rc != 0) {
    return make_error(ErrorCode::kIo, dir.string() + ": fsync failed: " + std::strerror(saved));
  }
  return ok_status();
}

Result<json> artifact_entry(const fs::path& path) {
  FAPO_ASSIGN_OR_RETURN(std::string digest, sha256_file(path));
  std::error_code ec;
  auto bytes = fs::file_size(path, ec);
  if (ec) return make_error(ErrorCode::kIo, path.string() + ": " + ec.message());
  return json{{"sha256", digest}, {"bytes", bytes}};
}

}  // namespace

struct RunWriter::State {
  RunFiles files;
  RunPlan plan;
  std::unordered_set<std::string> plan_cases;
  const WallClock* clock = nullptr;
  std::atomic<bool> finished{false};

  // Guarded by append_mutex.
  std::mutex append_mutex;
  AppendFile results;
  RunLock lock;
  DoneSet done;
  bool broken = false;  // a write failed; the file may end in a partial line

  // Serialises progress writes; last_progress_micros is read without it.
  std::mutex progress_mutex;
  std::atomic<std::int64_t> last_progress_micros{kNeverMicros};

  std::string where() const { return "run " + plan.run_id; }
  Result<ResultKey> checked_key(const json& line) const;
  Result<json> manifest(const json& summary, const std::string& status) const;
};

Result<ResultKey> RunWriter::State::checked_key(const json& line) const {
  auto key = result_key(line);
  if (!key.ok()) return key.error().with_context(where());
  if (plan_cases.count(key->first) == 0) {
    return make_error(ErrorCode::kInternal,
                      where() + ": case '" + key->first + "' is not in the run's plan");
  }
  if (key->second < 0 || key->second >= plan.trials) {
    return make_error(ErrorCode::kInternal, where() + ": case '" + key->first + "' trial " +
                                                std::to_string(key->second) + " is outside 0.." +
                                                std::to_string(plan.trials - 1));
  }
  return key;
}

Result<json> RunWriter::State::manifest(const json& summary, const std::string& status) const {
  FAPO_ASSIGN_OR_RETURN(json plan_entry, artifact_entry(files.plan));
  FAPO_ASSIGN_OR_RETURN(json results_entry, artifact_entry(files.results));
  results_entry["lines"] = done.size();
  std::size_t expected = plan.case_ids.size() * static_cast<std::size_t>(plan.trials);
  return json{
      {"format_version", kManifestFormatVersion},
      {"run_id", plan.run_id},
      {"tenant_id", plan.tenant_id},
      {"variant_id", plan.variant_id},
      {"split", plan.split},
      {"trials", plan.trials},
      {"created_at", plan.created_at},
      {"finished_at", format_timestamp(clock->now())},
      {"status", status},
      {"counts",
       {{"cases", plan.case_ids.size()}, {"expected_results", expected}, {"results", done.size()}}},
      {"settings", plan.settings},
      {"summary", summary},
      {"artifacts",
       {{files.plan.filename().string(), plan_entry},
        {files.results.filename().string(), results_entry}}}};
}

Result<RunWriter> RunWriter::make(const RunFiles& files, RunPlan plan, RunLock lock, DoneSet done,
                                  const WallClock& clock) {
  auto state = std::make_unique<State>();
  state->files = files;
  state->plan_cases.insert(plan.case_ids.begin(), plan.case_ids.end());
  state->plan = std::move(plan);
  state->clock = &clock;
  state->lock = std::move(lock);
  state->done = std::move(done);
  FAPO_ASSIGN_OR_RETURN(state->results, AppendFile::open(files.results));
  // The plan's rename and the results file's creation survive a power cut from here on.
  FAPO_RETURN_IF_ERROR(sync_directory(files.dir));
  return RunWriter(std::move(state));
}

RunWriter::RunWriter(std::unique_ptr<State> state) : state_(std::move(state)) {}
RunWriter::~RunWriter() = default;
RunWriter::RunWriter(RunWriter&& other) noexcept = default;
RunWriter& RunWriter::operator=(RunWriter&& other) noexcept = default;

const RunPlan& RunWriter::plan() const { return state_->plan; }
const RunWriter::DoneSet& RunWriter::done() const { return state_->done; }

bool RunWriter::is_done(const std::string& case_id, int trial) const {
  std::lock_guard<std::mutex> guard(state_->append_mutex);
  return state_->done.count({case_id, trial}) > 0;
}

std::size_t RunWriter::results_written() const {
  std::lock_guard<std::mutex> guard(state_->append_mutex);
  return state_->done.size();
}

Status RunWriter::append_result(const json& line) {
  State& s = *state_;
  FAPO_ASSIGN_OR_RETURN(ResultKey key, s.checked_key(line));
  std::string text;
  try {
    // Serialise outside the lock so worker threads encode in parallel. Invalid UTF-8 in model
    // output is replaced rather than failing the case.
    text = line.dump(-1, ' ', false, json::error_handler_t::replace);
  } catch (const json::exception& e) {
    return make_error(ErrorCode::kInternal, s.where() + ": cannot encode result: " + e.what());
  }
  std::lock_guard<std::mutex> guard(s.append_mutex);
  if (s.finished) {
    return make_error(ErrorCode::kInternal, s.where() + ": result appended after finish()");
  }
  if (s.broken) {
    return make_error(ErrorCode::kIo, s.where() +
                                          ": an earlier write to results.jsonl failed; "
                                          "free disk space and resume the run");
  }
  if (s.done.count(key) > 0) {
    return make_error(ErrorCode::kInternal, s.where() + ": case '" + key.first + "' trial " +
                                                std::to_string(key.second) +
                                                " already has a result; each is written once");
  }
  Status written = s.results.append_line(text);
  if (!written.ok()) {
    s.broken = true;
    return written.error().with_context(s.where());
  }
  s.done.insert(std::move(key));
  return ok_status();
}

bool RunWriter::progress_due() const {
  std::int64_t last = state_->last_progress_micros.load();
  if (last == kNeverMicros) return true;
  std::int64_t now = to_micros(state_->clock->now());
  // A clock stepped backwards counts as due rather than silencing progress until it catches up.
  return now < last || now - last >= std::chrono::microseconds(kProgressInterval).count();
}

Status RunWriter::write_progress(const json& progress, bool force) {
  State& s = *state_;
  if (!progress.is_object()) {
    return make_error(ErrorCode::kInternal, s.where() + ": progress must be a JSON object");
  }
  std::unique_lock<std::mutex> writing(s.progress_mutex, std::defer_lock);
  if (force) {
    writing.lock();
  } else if (!progress_due() || !writing.try_lock()) {
    return ok_status();  // not due, or another thread is writing progress right now
  }
  if (s.finished) return ok_status();  // a straggler after finish(): the manifest says it all
  if (!force && !progress_due()) return ok_status();  // another thread wrote it meanwhile
  WallTime now = s.clock->now();
  json content = progress;
  content["results_written"] = results_written();
  content["updated_at"] = format_timestamp(now);
  Status written = write_file_atomic(s.files.progress,
                                     content.dump(-1, ' ', false, json::error_handler_t::replace));
  if (!written.ok()) return written.error().with_context(s.where());
  s.last_progress_micros.store(to_micros(now));
  return ok_status();
}

Status RunWriter::finish(const json& summary, std::string status) {
  State& s = *state_;
  if (status != kRunComplete && status != kRunCancelled && status != kRunFailed) {
    return make_error(ErrorCode::kInternal, s.where() + ": unknown final status '" + status + "'");
  }
  std::lock_guard<std::mutex> guard(s.append_mutex);
  if (s.finished) return make_error(ErrorCode::kInternal, s.where() + ": finish() called twice");
  std::size_t expected = s.plan.case_ids.size() * static_cast<std::size_t>(s.plan.trials);
  if (status == kRunComplete && s.done.size() != expected) {
    return make_error(ErrorCode::kInternal, s.where() + ": cannot finish as complete with " +
                                                std::to_string(s.done.size()) + " of " +
                                                std::to_string(expected) +
                                                " results; finish it as cancelled or failed");
  }
  FAPO_RETURN_IF_ERROR(s.results.sync());
  FAPO_ASSIGN_OR_RETURN(json manifest, s.manifest(summary, status));
  FAPO_RETURN_IF_ERROR(write_file_atomic(
      s.files.manifest, manifest.dump(2, ' ', false, json::error_handler_t::replace)));
  FAPO_RETURN_IF_ERROR(sync_directory(s.files.dir));
  s.finished = true;
  s.lock.release();
  return ok_status();
}

}  // namespace fapo
