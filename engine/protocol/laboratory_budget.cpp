// The Laboratory's budget rules, on top of engine/budget: what has been used comes from the
// variant store (variants other than baselines) and the journal (validation runs, and model
// calls spent outside runs, such as the replays that confirm an attribution). The calls of an
// LLM judge scorer are the judge role: tallied from the runs' results, capped by
// budget.judge_calls, and part of every estimate, what running evaluations still commit
// included.

#include "engine/protocol/laboratory.h"

#include <algorithm>
#include <functional>

#include "engine/run/run_store.h"

namespace fapo {
namespace {

// What the running evaluations among `runs` (journal "run" entries) will still spend: each one's
// estimate scaled by the share of its results not recorded yet. Spending counts only what is on
// disk, so without this two evaluations started back to back could both fit a budget that
// holds only one.
EvaluationEstimate still_to_spend(const std::vector<JournalEntry>& runs, RunStore& store,
                                  const std::function<Result<EvaluationEstimate>(
                                      const std::string&, const std::string&, int)>& estimate) {
  EvaluationEstimate total;
  for (const JournalEntry& run : runs) {
    const std::string run_id = run.payload.value("run_id", "");
    if (!check_run_id(run_id).ok()) continue;
    auto status = store.status(run_id);
    if (!status.ok() || status->state != RunState::kRunning) continue;
    auto full = estimate(run.payload.value("variant_id", ""), run.payload.value("split", ""),
                         run.payload.value("trials", 1));
    if (!full.ok()) continue;
    double left = 1.0;
    if (status->progress.is_object() && status->progress.value("total", 0.0) > 0) {
      left = 1.0 - status->progress.value("done", 0.0) / status->progress.value("total", 1.0);
    }
    left = std::clamp(left, 0.0, 1.0);
    total.calls += static_cast<long long>(static_cast<double>(full->calls) * left + 0.5);
    total.tokens += static_cast<long long>(static_cast<double>(full->tokens) * left + 0.5);
    total.money += full->money * left;
    total.judge_calls +=
        static_cast<long long>(static_cast<double>(full->judge_calls) * left + 0.5);
  }
  return total;
}

}  // namespace

Result<BudgetState> Laboratory::budget_state() {
  FAPO_ASSIGN_OR_RETURN(std::vector<VariantRecord> records, store_.list());
  int variants_used = 0;
  for (const VariantRecord& record : records) variants_used += record.level != Level::kBaseline;
  FAPO_ASSIGN_OR_RETURN(std::vector<JournalEntry> runs, journal_->entries("run"));
  int validation_used = 0;
  for (const JournalEntry& run : runs) {
    validation_used += run.payload.value("split", "") == "validation";
  }
  FAPO_ASSIGN_OR_RETURN(std::vector<JournalEntry> movements, journal_->entries("budget"));
  EvaluationEstimate outside_runs;
  for (const JournalEntry& movement : movements) {
    outside_runs.calls += movement.payload.value("calls", 0LL);
    outside_runs.tokens += movement.payload.value("tokens", 0LL);
    outside_runs.money += movement.payload.value("money", 0.0);
  }
  RunStore store(workspace_, tenant_->id);
  auto estimate = [this](const std::string& variant_id, const std::string& split,
                         int trials) -> Result<EvaluationEstimate> {
    if (!check_variant_id(variant_id).ok()) {
      return make_error(ErrorCode::kInvalidInput, "no variant");
    }
    FAPO_ASSIGN_OR_RETURN(PipelineConfig pipeline, store_.load_pipeline(variant_id));
    return estimate_evaluation(workspace_, *tenant_, pipeline, split, trials);
  };
  return fapo::budget_state(workspace_, *tenant_, variants_used, validation_used, outside_runs,
                            still_to_spend(runs, store, estimate));
}

Status Laboratory::check_variant_budget() {
  FAPO_ASSIGN_OR_RETURN(BudgetState state, budget_state());
  return check_variant_allowed(state);
}

Status Laboratory::check_budget_allows(const VariantRecord& record, const std::string& split,
                                       Purpose purpose, int trials) {
  FAPO_ASSIGN_OR_RETURN(PipelineConfig pipeline, store_.load_pipeline(record.variant_id));
  FAPO_ASSIGN_OR_RETURN(EvaluationEstimate estimate,
                        estimate_evaluation(workspace_, *tenant_, pipeline, split, trials));
  FAPO_ASSIGN_OR_RETURN(BudgetState state, budget_state());
  return check_fits(state, estimate, purpose);
}

}  // namespace fapo
