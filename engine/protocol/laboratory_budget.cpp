// The Laboratory's budget rules, on top of engine/budget: what has been used comes from the
// variant store (variants other than baselines) and the journal (validation runs, and model
// calls spent outside runs, such as the replays that confirm an attribution).

#include "engine/protocol/laboratory.h"

namespace fapo {

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
  return fapo::budget_state(workspace_, *tenant_, variants_used, validation_used, outside_runs);
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
