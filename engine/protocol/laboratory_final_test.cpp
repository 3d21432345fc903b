// The Laboratory's final test (DESIGN.md §11): the chosen variant runs once on the test split
// and the result is sealed — journaled and written once to .fapo/<tenant>/final_test.json.
// After that the optimisation is finished: later calls return the sealed result and spend
// nothing, and proposals, comparisons and validation evaluations are refused.
//
// One test run per tenant: looking for a test run and starting one happen under the protocol
// lock, and a test run that exists is followed rather than replaced — unless it ended without
// completing (cancelled, failed, interrupted), whose partial results nobody has seen.
// Sealing writes the file first (exclusive create: a second writer finds it and uses it) and
// then the journal entry; a crash between the two is repaired by the next call.

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <system_error>

#include "engine/base/files.h"
#include "engine/protocol/laboratory.h"
#include "engine/run/run_id.h"

namespace fapo {
namespace {

using nlohmann::json;

std::string one_decimal(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f", value);
  return text;
}

// Creates `path` with `content` only if it does not exist: written to a temporary file, then
// hard-linked into place (link(2) fails with EEXIST instead of replacing), so readers never see
// a partial file and two writers cannot both win. True when this call created it.
Result<bool> create_exclusive(const fs::path& path, const std::string& content) {
  const fs::path temp = path.string() + ".tmp." + std::to_string(::getpid()) + "." +
                        std::to_string(random_run_suffix());
  FAPO_RETURN_IF_ERROR(write_file_atomic(temp, content));
  const int linked = ::link(temp.c_str(), path.c_str());
  const int link_errno = errno;
  std::error_code ignored;
  fs::remove(temp, ignored);
  if (linked == 0) return true;
  if (link_errno == EEXIST) return false;
  return make_error(ErrorCode::kIo,
                    "cannot write " + path.string() + ": " + std::strerror(link_errno));
}

Result<json> read_sealed_file(const fs::path& path) {
  FAPO_ASSIGN_OR_RETURN(std::string text, read_file(path));
  json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object() || !doc.contains("variant_id")) {
    return make_error(ErrorCode::kConflict,
                      path.string() +
                          " is not a sealed final test (not a JSON object with "
                          "variant_id); it is written only by fapo; restore it from the journal's "
                          "final_test entry");
  }
  return doc;
}

}  // namespace

fs::path Laboratory::protocol_lock_path() const {
  return workspace_.state_dir(tenant_->id) / "protocol.lock";
}

fs::path Laboratory::final_test_path() const {
  return workspace_.state_dir(tenant_->id) / "final_test.json";
}

Result<std::optional<json>> Laboratory::sealed_final_test() {
  FAPO_ASSIGN_OR_RETURN(std::optional<JournalEntry> entry, journal_->final_test());
  if (entry) return std::optional<json>(entry->payload);
  std::error_code ec;
  if (!fs::exists(final_test_path(), ec)) return std::optional<json>();
  // Sealed on disk but not journaled: the sealing process stopped in between.
  FAPO_ASSIGN_OR_RETURN(json sealed, read_sealed_file(final_test_path()));
  FAPO_RETURN_IF_ERROR(journal_->append("final_test", "server", sealed.value("variant_id", ""),
                                        "final test sealed (journaled on recovery)", sealed));
  return std::optional<json>(std::move(sealed));
}

Status Laboratory::check_not_sealed() {
  FAPO_ASSIGN_OR_RETURN(std::optional<json> sealed, sealed_final_test());
  if (!sealed) return ok_status();
  return make_error(ErrorCode::kConflict, "the final test of tenant " + tenant_->id +
                                              " is sealed (variant " + sealed->value("name", "?") +
                                              ", mean " + one_decimal(sealed->value("mean", 0.0)) +
                                              "); the optimisation is finished");
}

Result<FinalTestOutcome> Laboratory::final_test(RunManager& runs, const std::string& reference,
                                                const WaitOptions& wait, const std::string& actor) {
  FinalTestOutcome outcome;
  outcome.status = "sealed";
  outcome.already_sealed = true;
  FAPO_ASSIGN_OR_RETURN(std::optional<json> sealed, sealed_final_test());
  if (sealed) {
    outcome.result = std::move(*sealed);
    return outcome;
  }
  FAPO_ASSIGN_OR_RETURN(VariantRecord record, resolve(reference));
  FAPO_RETURN_IF_ERROR(check_review_allows_final_test(record));
  std::vector<PendingEvaluation> evaluations;
  {
    FAPO_ASSIGN_OR_RETURN(ProtocolLock lock, ProtocolLock::acquire(protocol_lock_path()));
    FAPO_ASSIGN_OR_RETURN(sealed, sealed_final_test());  // sealed while this call waited
    if (sealed) {
      outcome.result = std::move(*sealed);
      return outcome;
    }
    FAPO_ASSIGN_OR_RETURN(PendingEvaluation test_run,
                          find_or_start_test_run(runs, record, actor, outcome.estimate));
    evaluations.push_back(std::move(test_run));
  }
  FAPO_ASSIGN_OR_RETURN(bool finished, wait_for_evaluations(runs, evaluations, wait));
  const RunSnapshot& run = evaluations.front().run;
  if (!finished) {
    outcome.status = "running";
    outcome.already_sealed = false;
    outcome.evaluation = evaluations.front();
    return outcome;
  }
  if (run.state != RunState::kComplete) {
    std::string message = "the final test run " + run.run_id + " of " + record.name + " ended " +
                          run_state_name(run.state);
    if (!run.error.empty()) message += ": " + run.error;
    return make_error(ErrorCode::kConflict,
                      message + "; nothing was sealed — call final_test again to run it again");
  }
  FAPO_ASSIGN_OR_RETURN(ProtocolLock lock, ProtocolLock::acquire(protocol_lock_path()));
  FAPO_ASSIGN_OR_RETURN(sealed, sealed_final_test());  // a concurrent call sealed this run
  if (sealed) {
    outcome.result = std::move(*sealed);
    return outcome;
  }
  FAPO_ASSIGN_OR_RETURN(outcome.result, seal(record, run, actor));
  outcome.already_sealed = false;
  return outcome;
}

Status Laboratory::check_review_allows_final_test(const VariantRecord& record) {
  if (record.level == Level::kBaseline) return ok_status();
  FAPO_ASSIGN_OR_RETURN(std::optional<JournalEntry> review,
                        journal_->latest_review(record.variant_id));
  const std::string verdict = review ? review->payload.value("verdict", "") : "";
  if (verdict == "pass" || verdict == "warn") return ok_status();
  return make_error(ErrorCode::kConflict,
                    "variant " + record.name +
                        (review ? " failed review" : " has not been reviewed") +
                        ", so it cannot take the final test; the final test is for the variant "
                        "chosen on validation (usually 'best')");
}

// The journal's latest test run is followed while it runs or once it completed; otherwise (none,
// or one that ended without completing) a new one starts, through the gate (the final test may
// use the budget's reserve).
Result<PendingEvaluation> Laboratory::find_or_start_test_run(RunManager& runs,
                                                             const VariantRecord& record,
                                                             const std::string& actor,
                                                             EvaluationEstimate& estimate) {
  FAPO_ASSIGN_OR_RETURN(std::vector<JournalEntry> entries, journal_->entries("run"));
  for (auto entry = entries.rbegin(); entry != entries.rend(); ++entry) {
    if (entry->payload.value("split", "") != "test") continue;
    const std::string run_id = entry->payload.value("run_id", "");
    FAPO_ASSIGN_OR_RETURN(RunSnapshot run, runs.snapshot(tenant_->id, run_id));
    if (run.state != RunState::kRunning && run.state != RunState::kComplete) break;
    if (run.variant_id != record.variant_id) {
      FAPO_ASSIGN_OR_RETURN(VariantRecord tested, store_.find(run.variant_id));
      return make_error(ErrorCode::kConflict,
                        "the final test of " + tested.name + " is under way (run " + run_id +
                            "); only one variant is ever tested: call final_test with variant '" +
                            tested.name + "' to follow it");
    }
    return PendingEvaluation{record.variant_id, record.name, run_id, run.trials, false, run};
  }
  const int trials = tenant_->config.acceptance.trials;
  FAPO_RETURN_IF_ERROR(
      check_evaluation_allowed(record.variant_id, "test", Purpose::kFinalTest, trials));
  FAPO_ASSIGN_OR_RETURN(PipelineConfig pipeline, store_.load_pipeline(record.variant_id));
  FAPO_ASSIGN_OR_RETURN(estimate,
                        estimate_evaluation(workspace_, *tenant_, pipeline, "test", trials));
  EvalRequest request;
  request.tenant_id = tenant_->id;
  request.split = "test";
  request.trials = trials;
  request.variant_id = record.variant_id;
  auto started = runs.start(request);
  if (!started.ok()) {
    return started.error().with_context("starting the final test of " + record.name);
  }
  auto journaled =
      record_run(started->run_id, record.variant_id, "test", trials, Purpose::kFinalTest, actor);
  if (!journaled.ok()) return cancel_unjournaled(runs, started->run_id, journaled.error());
  return PendingEvaluation{record.variant_id, record.name, started->run_id, trials, true, *started};
}

Result<json> Laboratory::seal(const VariantRecord& record, const RunSnapshot& run,
                              const std::string& actor) {
  if (!run.summary) {
    return make_error(ErrorCode::kInternal, "the final test run " + run.run_id +
                                                " completed without a summary; nothing sealed");
  }
  const RunSummary& summary = *run.summary;
  json result{{"variant_id", record.variant_id},
              {"name", record.name},
              {"mean", summary.mean},
              {"standard_error", summary.standard_error},
              {"cases", summary.cases},
              {"trials", summary.trials},
              {"run_id", run.run_id},
              {"sealed_at", format_timestamp(std::chrono::system_clock::now())}};
  FAPO_ASSIGN_OR_RETURN(bool created, create_exclusive(final_test_path(), result.dump(2) + "\n"));
  // Another process sealed first: its file is the result.
  if (!created) {
    FAPO_ASSIGN_OR_RETURN(result, read_sealed_file(final_test_path()));
  }
  FAPO_RETURN_IF_ERROR(journal_->append("final_test", actor, result.value("variant_id", ""),
                                        "final test sealed", result));
  return result;
}

}  // namespace fapo
