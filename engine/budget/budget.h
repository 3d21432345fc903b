// A tenant's budget as something to enforce: the caps of tenant.json ("budget"), what the runs
// on disk have spent (engine/run/spending.h), the reserve kept for the final test, and an
// estimate of what one evaluation will cost, so an evaluation is refused before it starts when
// it would not fit (DESIGN.md §11).
//
// Estimates are upper bounds on calls: every llm step of the chain is counted as if it ran (a
// branch that may be skipped still counts), a vote step counts n calls, a loop its
// max_iterations; times the cases of the split and the trials. Tokens per call come from the
// tenant's earlier runs when there are any (their average), otherwise from a conservative
// guess: the prompt template's length plus an allowance for each substituted value plus the
// step's max_tokens. Money uses the tenant's price table; the simulated model costs nothing
// (its calls and tokens still count against the caps).
//
// An LLM judge scorer (engine/score/judge.h) is the judge role: each judge of the tenant's
// scorer (a composite's components included) counts one call per case and trial, capped by
// budget.judge_calls; its tokens are reported apart from the task model's, and its money counts
// against the same money cap (budget.task_money covers both roles).
//
// The final-test reserve (final_test_reserve x each cap) can be spent only by the final test;
// train and validation evaluations must fit in what is left above it. A money cap of 0 means
// no money cap; the call and token caps are always enforced.
//
// Free functions over values; they read the run store and the split manifest, so they are
// safe to call from several threads.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/base/result.h"
#include "engine/chain/pipeline.h"
#include "engine/data/tenant_config.h"
#include "engine/run/tenant.h"
#include "engine/run/workspace.h"

namespace fapo {

struct EvaluationEstimate {
  long long calls = 0;        // task-model calls
  long long tokens = 0;       // task-model tokens
  double money = 0;           // every role: task model and judge
  long long judge_calls = 0;  // calls of the tenant's LLM judges (the judge role)
};

// Upper-bound model calls of one case through `chain` (llm steps, vote n, loop iterations).
long long max_calls_per_case(const ChainDef& chain);

// What evaluating `pipeline` on `split` for `trials` trials will cost at most.
Result<EvaluationEstimate> estimate_evaluation(const Workspace& workspace, const Tenant& tenant,
                                              const PipelineConfig& pipeline,
                                              const std::string& split, int trials);

struct BudgetState {
  BudgetConfig caps;  // TenantConfig.budget
  long long calls_spent = 0;
  long long tokens_spent = 0;  // in + out
  double money_spent = 0;  // every role, the judge's included
  // The judge role (an LLM judge scorer): its calls are capped by caps.judge_calls.
  long long judge_calls_spent = 0;  // calls made, failed ones included
  long long judge_tokens_spent = 0;
  double judge_money_spent = 0;
  int variants_used = 0;
  int validation_evaluations_used = 0;
  // final_test_reserve x cap, kept for the final test.
  long long calls_reserve = 0;
  long long tokens_reserve = 0;
  double money_reserve = 0;
  long long judge_calls_reserve = 0;
  // Still to be spent by evaluations that are running (their estimate for the results they
  // have not recorded yet): not spent, but no longer available.
  EvaluationEstimate committed;
  // cap - spent - committed (never below 0), reserve included; money_left is meaningless when
  // caps.task_money == 0 (no money cap).
  long long calls_left = 0;
  long long tokens_left = 0;
  double money_left = 0;
  long long judge_calls_left = 0;
  int variants_left = 0;
  int validation_evaluations_left = 0;
  // How many more validation comparisons (see budget_state) fit outside the reserve.
  int validation_comparisons_left = 0;
  EvaluationEstimate one_validation_evaluation;  // the basis of that count
  bool incumbent_evaluated_on_validation = false;
};

// The state of `tenant`'s budget. `variants_used` and `validation_evaluations_used` come from
// the variant store and the journal. validation_comparisons_left counts comparisons of a new
// candidate against an incumbent, each needing an evaluation of acceptance.trials trials on
// validation (estimated on the baseline pipeline); when no validation run exists yet, the first
// comparison also pays for the incumbent's evaluation. `outside_runs` is model spending that
// left no run behind (counterfactual replays of an attribution, journaled as "budget");
// `committed` what running evaluations will still spend (see BudgetState::committed).
Result<BudgetState> budget_state(const Workspace& workspace, const Tenant& tenant,
                                 int variants_used, int validation_evaluations_used,
                                 const EvaluationEstimate& outside_runs = {},
                                 const EvaluationEstimate& committed = {});

enum class Purpose { kTrain, kValidation, kFinalTest };

const char* purpose_name(Purpose purpose);  // "train", "validation", "final test"

// Whether an evaluation fits. kConflict (the budget on disk cannot pay for the request) naming
// the cap, what is needed and what is left, and what to do; the reserve counts as available
// only for kFinalTest. kValidation also needs a validation evaluation left.
Status check_fits(const BudgetState& state, const EvaluationEstimate& estimate, Purpose purpose);

// Whether one more variant may be proposed (kConflict when the variant cap is reached).
Status check_variant_allowed(const BudgetState& state);

// Warnings for a budget that cannot pay for real progress: fewer than three proposals evaluated
// on validation. `one_validation_comparison` is the cost of one comparison's evaluations.
std::vector<std::string> preflight_warnings(const BudgetState& state,
                                            const EvaluationEstimate& one_validation_comparison);

nlohmann::json to_json(const BudgetState& state);

}  // namespace fapo
