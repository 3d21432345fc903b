// The Laboratory's compare step (DESIGN.md §10): make sure both variants have
// acceptance.trials complete trials on the split — starting the missing evaluations, gated and
// journaled, or waiting for ones already running — then let engine/compare decide, journal the
// comparison, and on validation against the current best journal the decision (an accept moves
// the best pointer). Train comparisons help to understand a change; they never decide.

#include <algorithm>
#include <chrono>

#include "engine/attribution/failure_deltas.h"
#include "engine/base/strings.h"
#include "engine/protocol/laboratory.h"

namespace fapo {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

// Rounds of "start what is missing, wait for it": a second round covers a run found running
// that brought fewer trials than acceptance needs.
constexpr int kEvaluationRounds = 2;

Purpose purpose_of(const std::string& split) {
  return split == "validation" ? Purpose::kValidation : Purpose::kTrain;
}

EvaluationEstimate operator+(EvaluationEstimate a, const EvaluationEstimate& b) {
  a.calls += b.calls;
  a.tokens += b.tokens;
  a.money += b.money;
  return a;
}

std::optional<RunSnapshot> running_evaluation(const std::vector<RunSnapshot>& active,
                                              const std::string& tenant_id,
                                              const std::string& variant_id,
                                              const std::string& split) {
  for (const RunSnapshot& run : active) {
    if (run.tenant_id == tenant_id && run.variant_id == variant_id && run.split == split) {
      return run;
    }
  }
  return std::nullopt;
}

// A finished evaluation that did not complete leaves the comparison without its trials.
Status check_completed(const std::vector<PendingEvaluation>& evaluations) {
  for (const PendingEvaluation& evaluation : evaluations) {
    if (evaluation.run.state == RunState::kComplete) continue;
    std::string message = "the evaluation of " + evaluation.name + " (run " + evaluation.run_id +
                          ") ended " + run_state_name(evaluation.run.state);
    if (!evaluation.run.error.empty()) message += ": " + evaluation.run.error;
    return make_error(ErrorCode::kConflict,
                      message + "; call compare again to evaluate the missing trials");
  }
  return ok_status();
}

std::string pending_note(const std::vector<PendingEvaluation>& evaluations) {
  std::vector<std::string> parts;
  for (const PendingEvaluation& evaluation : evaluations) {
    if (evaluation.run.is_finished()) continue;
    parts.push_back(evaluation.name + " (run " + evaluation.run_id + ", " +
                    std::to_string(evaluation.run.done) + "/" +
                    std::to_string(evaluation.run.total) + " results)");
  }
  return "waiting for the evaluation of " + join(parts, " and ") +
         "; call compare again with the same arguments to continue (the runs go on in the "
         "background and are not started twice)";
}

// Says, before waiting, what this round started and what it is estimated to cost.
void report_start(const std::vector<PendingEvaluation>& evaluations, const CompareOutcome& outcome,
                  const WaitOptions& wait) {
  if (!wait.on_progress) return;
  std::vector<std::string> started;
  std::vector<std::string> followed;
  std::size_t done = 0;
  std::size_t total = 0;
  for (const PendingEvaluation& evaluation : evaluations) {
    (evaluation.started_now ? started : followed)
        .push_back(evaluation.name + " (" + std::to_string(evaluation.trials) + " trial(s))");
    done += evaluation.run.done;
    total += evaluation.run.total;
  }
  std::string message;
  if (!started.empty()) {
    message = "started the evaluation of " + join(started, " and ") + " on " + outcome.split +
              ": about " + std::to_string(outcome.estimate.calls) + " model calls";
  }
  if (!followed.empty()) {
    message += (message.empty() ? "" : "; ") +
               std::string("waiting for the running evaluation of ") + join(followed, " and ");
  }
  wait.on_progress(done, total, message);
}

}  // namespace

Result<CompareOutcome> Laboratory::compare(RunManager& runs, const std::string& candidate,
                                           const std::string& incumbent, const std::string& split,
                                           const WaitOptions& wait, const std::string& actor) {
  if (split == "test") {
    return make_error(ErrorCode::kInvalidInput,
                      "the test split is reachable only through final_test, which evaluates the "
                      "chosen variant once and seals the result; compare on 'validation' to "
                      "decide and on 'train' to understand a change");
  }
  if (split != "train" && split != "validation") {
    return make_error(ErrorCode::kInvalidInput,
                      "unknown split '" + split + "': compare on 'validation' or 'train'");
  }
  FAPO_RETURN_IF_ERROR(check_not_sealed());
  CompareOutcome outcome;
  outcome.split = split;
  FAPO_ASSIGN_OR_RETURN(outcome.candidate, resolve(candidate));
  FAPO_ASSIGN_OR_RETURN(outcome.incumbent, resolve(incumbent));
  if (outcome.candidate.variant_id == outcome.incumbent.variant_id) {
    return make_error(ErrorCode::kInvalidInput, "candidate and incumbent are the same variant (" +
                                                    outcome.candidate.name +
                                                    "); compare a new variant with 'best'");
  }
  FAPO_RETURN_IF_ERROR(check_compare_reviews(outcome.candidate, outcome.incumbent, split));

  const auto deadline = Clock::now() + wait.timeout;
  for (int round = 0; round < kEvaluationRounds; ++round) {
    const std::size_t before = outcome.evaluations.size();
    FAPO_RETURN_IF_ERROR(start_missing_evaluations(runs, outcome, actor));
    if (outcome.evaluations.size() == before) break;
    std::vector<PendingEvaluation> round_evaluations(outcome.evaluations.begin() + before,
                                                     outcome.evaluations.end());
    report_start(round_evaluations, outcome, wait);
    WaitOptions remaining = wait;
    remaining.timeout =
        std::max(std::chrono::milliseconds(0),
                 std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()));
    FAPO_ASSIGN_OR_RETURN(bool finished, wait_for_evaluations(runs, round_evaluations, remaining));
    std::copy(round_evaluations.begin(), round_evaluations.end(),
              outcome.evaluations.begin() + before);
    if (!finished) {
      outcome.status = "evaluating";
      outcome.note = pending_note(round_evaluations);
      FAPO_ASSIGN_OR_RETURN(outcome.best, best());
      return outcome;
    }
    FAPO_RETURN_IF_ERROR(check_completed(round_evaluations));
  }
  return decide(std::move(outcome), actor);
}

Status Laboratory::check_compare_reviews(const VariantRecord& candidate,
                                         const VariantRecord& incumbent, const std::string& split) {
  if (candidate.level != Level::kBaseline) {
    FAPO_ASSIGN_OR_RETURN(auto review, journal_->latest_review(candidate.variant_id));
    if (review && review->payload.value("verdict", "") == "fail") {
      return make_error(ErrorCode::kConflict,
                        "variant " + candidate.name +
                            " failed review, so it cannot be compared "
                            "or accepted; fix what the review found in a new proposal (get_variant "
                            "shows the findings)");
    }
  }
  if (split != "validation") return ok_status();
  FAPO_RETURN_IF_ERROR(check_review_allows_validation(candidate));
  return check_review_allows_validation(incumbent);
}

// Under the protocol lock: a side with an evaluation running on the split is waited for; a side
// short of trials gets one evaluation of the missing trials. Every evaluation to start is gated
// first, and together they must fit the budget, so none starts when not all can.
Status Laboratory::start_missing_evaluations(RunManager& runs, CompareOutcome& outcome,
                                             const std::string& actor) {
  FAPO_ASSIGN_OR_RETURN(ProtocolLock lock, ProtocolLock::acquire(protocol_lock_path()));
  const std::string& split = outcome.split;
  const int needed = tenant_->config.acceptance.trials;
  // Active runs before trials on disk: a run that completes in between is then counted once.
  const std::vector<RunSnapshot> active = runs.active_runs();
  std::vector<std::pair<const VariantRecord*, int>> to_start;
  for (const VariantRecord* side : {&outcome.candidate, &outcome.incumbent}) {
    if (auto run = running_evaluation(active, tenant_->id, side->variant_id, split)) {
      outcome.evaluations.push_back(
          PendingEvaluation{side->variant_id, side->name, run->run_id, run->trials, false, *run});
      continue;
    }
    FAPO_ASSIGN_OR_RETURN(int have,
                          trials_available(workspace_, tenant_->id, side->variant_id, split));
    if (have < needed) to_start.emplace_back(side, needed - have);
  }
  if (to_start.empty()) return ok_status();

  const Purpose purpose = purpose_of(split);
  EvaluationEstimate total;
  for (const auto& [side, trials] : to_start) {
    FAPO_RETURN_IF_ERROR(check_evaluation_allowed(side->variant_id, split, purpose, trials));
    FAPO_ASSIGN_OR_RETURN(PipelineConfig pipeline, store_.load_pipeline(side->variant_id));
    FAPO_ASSIGN_OR_RETURN(EvaluationEstimate estimate,
                          estimate_evaluation(workspace_, *tenant_, pipeline, split, trials));
    total = total + estimate;
  }
  if (to_start.size() > 1)
    FAPO_RETURN_IF_ERROR(check_joint_budget(total, purpose, to_start.size()));

  for (const auto& [side, trials] : to_start) {
    EvalRequest request;
    request.tenant_id = tenant_->id;
    request.split = split;
    request.trials = trials;
    request.variant_id = side->variant_id;
    auto started = runs.start(request);
    if (!started.ok()) {
      return started.error().with_context("starting the evaluation of " + side->name + " on " +
                                          split);
    }
    auto journaled = record_run(started->run_id, side->variant_id, split, trials, purpose, actor);
    if (!journaled.ok()) return cancel_unjournaled(runs, started->run_id, journaled.error());
    outcome.evaluations.push_back(
        PendingEvaluation{side->variant_id, side->name, started->run_id, trials, true, *started});
  }
  outcome.estimate = outcome.estimate + total;
  return ok_status();
}

// Each evaluation passed the gate alone; this checks that they fit together.
Status Laboratory::check_joint_budget(const EvaluationEstimate& total, Purpose purpose,
                                      std::size_t evaluations) {
  FAPO_ASSIGN_OR_RETURN(BudgetState state, budget_state());
  FAPO_RETURN_IF_ERROR(check_fits(state, total, purpose));
  if (purpose == Purpose::kValidation &&
      state.validation_evaluations_left < static_cast<int>(evaluations)) {
    return make_error(ErrorCode::kConflict,
                      "this comparison needs " + std::to_string(evaluations) +
                          " validation evaluations but budget.validation_evaluations has " +
                          std::to_string(state.validation_evaluations_left) +
                          " left; compare against an incumbent already evaluated on validation");
  }
  return ok_status();
}

Result<CompareOutcome> Laboratory::decide(CompareOutcome outcome, const std::string& actor) {
  const std::string& split = outcome.split;
  CompareRequest request;
  request.tenant_id = tenant_->id;
  request.candidate_id = outcome.candidate.variant_id;
  request.incumbent_id = outcome.incumbent.variant_id;
  request.split = split;
  request.acceptance = tenant_->config.acceptance;
  // Deterministic: comparing the same runs again gives the same interval and p-value.
  request.seed = stable_hash(request.candidate_id + "\n" + request.incumbent_id + "\n" + split);
  const std::string what =
      outcome.candidate.name + " against " + outcome.incumbent.name + " on " + split;
  auto comparison = compare_variants(workspace_, request);
  if (!comparison.ok()) return comparison.error().with_context("comparing " + what);

  // Under the lock, so that two comparisons against the best cannot both move it.
  FAPO_ASSIGN_OR_RETURN(ProtocolLock lock, ProtocolLock::acquire(protocol_lock_path()));
  FAPO_ASSIGN_OR_RETURN(VariantRecord current_best, best());
  outcome.decisive =
      split == "validation" && outcome.incumbent.variant_id == current_best.variant_id;
  json report = to_json(*comparison);
  // Where failures moved between classes and steps: counts only, safe on validation.
  auto deltas = failure_count_deltas(workspace_, tenant_->id, comparison->candidate.run_ids,
                                     comparison->incumbent.run_ids);
  if (deltas.ok()) {
    outcome.failure_deltas = *deltas;
    report["failure_deltas"] = *deltas;
  }
  report["candidate_name"] = outcome.candidate.name;
  report["incumbent_name"] = outcome.incumbent.name;
  FAPO_RETURN_IF_ERROR(
      journal_->append("comparison", actor, request.candidate_id, comparison->reason, report));
  if (outcome.decisive) {
    json decision{{"candidate", request.candidate_id},
                  {"incumbent", request.incumbent_id},
                  {"accepted", comparison->accepted},
                  {"split", split}};
    FAPO_RETURN_IF_ERROR(
        journal_->append("decision", actor, request.candidate_id, comparison->reason, decision));
  } else if (split == "train") {
    outcome.note = "train comparisons inform but never decide: the best variant stays " +
                   current_best.name + "; compare on validation to decide";
  } else {
    outcome.note = outcome.incumbent.name + " is not the current best (" + current_best.name +
                   "), so this comparison informs but does not decide; compare against 'best' "
                   "to decide";
  }
  outcome.comparison = std::move(comparison).value();
  outcome.status = "decided";
  FAPO_ASSIGN_OR_RETURN(outcome.best, best());
  return outcome;
}

}  // namespace fapo
