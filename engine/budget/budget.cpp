#include "engine/budget/budget.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "engine/data/splits.h"
#include "engine/run/spending.h"
#include "engine/score/judge.h"

namespace fapo {
namespace {

// Tokens assumed for each ${...} a prompt substitutes (a question, notes, a few retrieved
// passages) when no run has measured the real size yet. Deliberately generous: an estimate
// that is too high refuses early, one that is too low overspends.
constexpr long long kTokensPerSubstitution = 256;
constexpr long long kCharsPerToken = 4;
constexpr long long kUnlimited = std::numeric_limits<long long>::max();

long long calls_of(const std::vector<StepDef>& steps) {
  long long calls = 0;
  for (const StepDef& step : steps) {
    switch (step.kind) {
      case StepKind::kLlm: calls += 1; break;
      case StepKind::kVote: calls += static_cast<long long>(step.n) * calls_of(step.inner); break;
      case StepKind::kLoop:
        calls += static_cast<long long>(step.max_iterations) * calls_of(step.steps);
        break;
      case StepKind::kReact: calls += step.max_iterations; break;  // one model turn each
      case StepKind::kRetrieve:
      case StepKind::kTransform: break;
    }
  }
  return calls;
}

std::size_t count_of(const std::string& text, const std::string& needle) {
  std::size_t count = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) {
    ++count;
  }
  return count;
}

struct CallTokens {
  double in = 0;
  double out = 0;
};

// Prompt and reply tokens of one call of `step`, before any run has measured them.
CallTokens guessed_tokens(const StepDef& step, const PipelineConfig& pipeline,
                          const TaskModelConfig& model) {
  auto prompt = pipeline.prompts.find(step.prompt);
  const std::string text = prompt == pipeline.prompts.end() ? "" : prompt->second;
  const auto length = static_cast<long long>(text.size());
  const auto substitutions = static_cast<long long>(count_of(text, "${"));
  return {static_cast<double>((length + kCharsPerToken - 1) / kCharsPerToken +
                              substitutions * kTokensPerSubstitution),
          static_cast<double>(step.max_tokens.value_or(model.max_tokens))};
}

// Sum over every call one case makes, each weighted by how often it can run.
CallTokens guessed_case_tokens(const std::vector<StepDef>& steps, const PipelineConfig& pipeline,
                               const TaskModelConfig& model) {
  CallTokens total;
  for (const StepDef& step : steps) {
    CallTokens part;
    double times = 1;
    if (step.kind == StepKind::kLlm) {
      part = guessed_tokens(step, pipeline, model);
    } else if (step.kind == StepKind::kReact) {
      part = guessed_tokens(step, pipeline, model);  // per turn, like an llm call
      times = step.max_iterations;
    } else if (step.kind == StepKind::kVote) {
      part = guessed_case_tokens(step.inner, pipeline, model);
      times = step.n;
    } else if (step.kind == StepKind::kLoop) {
      part = guessed_case_tokens(step.steps, pipeline, model);
      times = step.max_iterations;
    }
    total.in += part.in * times;
    total.out += part.out * times;
  }
  return total;
}

double money_of(const TaskModelConfig& model, double tokens_in, double tokens_out) {
  if (model.provider == "sim") return 0;  // simulated: calls and tokens count, money does not
  return tokens_in / 1e6 * model.prices.input_per_mtok +
         tokens_out / 1e6 * model.prices.output_per_mtok;
}

// Calls and money of the tenant's LLM judges for `evaluations` scored (case, trial) pairs: one
// call each per judge. Tokens per call come from the judge calls made so far, else from the
// judge's prompt (rubric and instructions plus an allowance for the task, the reference and
// the response) and its max_tokens.
void add_judge_estimate(const std::vector<JudgeSpec>& judges, const CostTotals& judged_so_far,
                        double evaluations, EvaluationEstimate& estimate) {
  const auto calls_so_far = static_cast<double>(judged_so_far.calls);
  for (const JudgeSpec& judge : judges) {
    CallTokens per_call;
    if (calls_so_far > 0) {
      per_call = {static_cast<double>(judged_so_far.tokens_in) / calls_so_far,
                  static_cast<double>(judged_so_far.tokens_out) / calls_so_far};
    } else {
      const auto prompt = static_cast<long long>(judge.prompt_chars);
      per_call = {static_cast<double>((prompt + kCharsPerToken - 1) / kCharsPerToken +
                                      3 * kTokensPerSubstitution),
                  static_cast<double>(judge.max_tokens)};
    }
    estimate.judge_calls += static_cast<long long>(evaluations);
    if (judge.provider != "sim") {  // the simulated judge costs nothing
      estimate.money += per_call.in * evaluations / 1e6 * judge.prices.input_per_mtok +
                        per_call.out * evaluations / 1e6 * judge.prices.output_per_mtok;
    }
  }
}

Result<std::size_t> split_size(const Tenant& tenant, const std::string& split) {
  auto which = split_from_string(split);
  if (!which) {
    return make_error(ErrorCode::kInvalidInput,
                      "unknown split '" + split + "' (valid: train, validation, test)");
  }
  FAPO_ASSIGN_OR_RETURN(
      SplitManifest manifest,
      build_split_manifest(tenant.dir / "dataset.jsonl", tenant.display_dir + "/dataset.jsonl",
                           tenant.config.splits, tenant.dir));
  return manifest.ids(*which).size();
}

long long fraction_of(long long cap, double fraction) {
  return static_cast<long long>(std::ceil(static_cast<double>(cap) * fraction));
}

// How many times `each` fits in `available`; unlimited when `each` is free.
long long times_fitting(double available, double each) {
  if (each <= 0) return kUnlimited;
  return static_cast<long long>(std::floor(std::max(0.0, available) / each));
}

bool money_capped(const BudgetState& state) { return state.caps.task_money > 0; }

// What is left of a cap for `purpose`: the reserve only for the final test.
double available(double left, double reserve, Purpose purpose) {
  return purpose == Purpose::kFinalTest ? left : std::max(0.0, left - reserve);
}

Error refusal(const std::string& what, double needed, double usable, Purpose purpose,
              const std::string& advice) {
  const char* scope = purpose == Purpose::kFinalTest
                          ? "left"
                          : "left outside the final-test reserve";
  return make_error(ErrorCode::kConflict,
                    fmt::format("budget: this {} evaluation needs about {:.0f} {} but only "
                                "{:.0f} are {}; {}",
                                purpose_name(purpose), needed, what, usable, scope, advice));
}

// Comparisons of a new candidate (one validation evaluation each) that fit outside the
// reserve; the first also pays for the incumbent's evaluation when none exists yet.
int comparisons_fitting(const BudgetState& state) {
  const EvaluationEstimate& each = state.one_validation_evaluation;
  auto usable = [](double left, double reserved) {
    return available(left, reserved, Purpose::kValidation);
  };
  long long fitting = state.validation_evaluations_left;
  fitting = std::min(fitting, times_fitting(usable(static_cast<double>(state.calls_left),
                                                   static_cast<double>(state.calls_reserve)),
                                            static_cast<double>(each.calls)));
  fitting = std::min(fitting, times_fitting(usable(static_cast<double>(state.tokens_left),
                                                   static_cast<double>(state.tokens_reserve)),
                                            static_cast<double>(each.tokens)));
  if (money_capped(state)) {
    fitting = std::min(fitting, times_fitting(usable(state.money_left, state.money_reserve),
                                              each.money));
  }
  fitting = std::min(fitting, times_fitting(usable(static_cast<double>(state.judge_calls_left),
                                                   static_cast<double>(state.judge_calls_reserve)),
                                            static_cast<double>(each.judge_calls)));
  const long long first_extra = state.incumbent_evaluated_on_validation ? 0 : 1;
  return static_cast<int>(std::max(0LL, fitting - first_extra));
}

}  // namespace

long long max_calls_per_case(const ChainDef& chain) { return calls_of(chain.steps); }

Result<EvaluationEstimate> estimate_evaluation(const Workspace& workspace, const Tenant& tenant,
                                              const PipelineConfig& pipeline,
                                              const std::string& split, int trials) {
  if (trials < 1) return make_error(ErrorCode::kInvalidInput, "trials must be at least 1");
  FAPO_ASSIGN_OR_RETURN(std::size_t cases, split_size(tenant, split));
  const TaskModelConfig& model = tenant.config.task_model;
  FAPO_ASSIGN_OR_RETURN(Spending spent, tally_spending(workspace, tenant.id, model.prices));
  const long long case_calls = max_calls_per_case(pipeline.chain);
  const double evaluations = static_cast<double>(cases) * trials;
  CallTokens per_case;
  if (spent.model_calls > 0) {
    const auto calls = static_cast<double>(spent.model_calls);
    per_case = {static_cast<double>(spent.tokens_in) / calls * static_cast<double>(case_calls),
                static_cast<double>(spent.tokens_out) / calls * static_cast<double>(case_calls)};
  } else {
    per_case = guessed_case_tokens(pipeline.chain.steps, pipeline, model);
  }
  EvaluationEstimate estimate;
  estimate.calls = case_calls * static_cast<long long>(cases) * trials;
  estimate.tokens =
      static_cast<long long>(std::ceil((per_case.in + per_case.out) * evaluations));
  estimate.money = money_of(model, per_case.in * evaluations, per_case.out * evaluations);
  add_judge_estimate(judges_in(tenant.config.scorer, tenant.dir), spent.judge, evaluations,
                     estimate);
  return estimate;
}

Result<BudgetState> budget_state(const Workspace& workspace, const Tenant& tenant,
                                 int variants_used, int validation_evaluations_used,
                                 const EvaluationEstimate& outside_runs,
                                 const EvaluationEstimate& committed) {
  const TenantConfig& config = tenant.config;
  FAPO_ASSIGN_OR_RETURN(Spending spent,
                        tally_spending(workspace, tenant.id, config.task_model.prices));
  BudgetState state;
  state.caps = config.budget;
  state.calls_spent = spent.model_calls + outside_runs.calls;
  state.tokens_spent = spent.tokens_in + spent.tokens_out + outside_runs.tokens;
  state.judge_calls_spent = spent.judge.calls + spent.judge.failed + spent.judge.cached;
  state.judge_tokens_spent = spent.judge.tokens_in + spent.judge.tokens_out;
  state.judge_money_spent = spent.judge.cost;
  const double task_money = config.task_model.provider == "sim"
                                ? 0
                                : spent.cost - spent.judge.cost + outside_runs.money;
  state.money_spent = task_money + state.judge_money_spent;
  state.variants_used = variants_used;
  state.validation_evaluations_used = validation_evaluations_used;
  const double reserve = state.caps.final_test_reserve;
  state.calls_reserve = fraction_of(state.caps.task_calls, reserve);
  state.tokens_reserve = fraction_of(state.caps.task_tokens, reserve);
  state.money_reserve = state.caps.task_money * reserve;
  state.judge_calls_reserve = fraction_of(state.caps.judge_calls, reserve);
  state.committed = committed;
  state.calls_left = std::max(0LL, state.caps.task_calls - state.calls_spent - committed.calls);
  state.tokens_left =
      std::max(0LL, state.caps.task_tokens - state.tokens_spent - committed.tokens);
  state.money_left =
      std::max(0.0, state.caps.task_money - state.money_spent - committed.money);
  state.judge_calls_left = std::max(
      0LL, state.caps.judge_calls - state.judge_calls_spent - committed.judge_calls);
  state.variants_left = std::max(0, state.caps.variants - variants_used);
  state.validation_evaluations_left =
      std::max(0, state.caps.validation_evaluations - validation_evaluations_used);
  state.incumbent_evaluated_on_validation = spent.runs_by_split["validation"] > 0;

  FAPO_ASSIGN_OR_RETURN(state.one_validation_evaluation,
                        estimate_evaluation(workspace, tenant, tenant.baseline, "validation",
                                            config.acceptance.trials));
  state.validation_comparisons_left = comparisons_fitting(state);
  return state;
}

const char* purpose_name(Purpose purpose) {
  switch (purpose) {
    case Purpose::kTrain: return "train";
    case Purpose::kValidation: return "validation";
    case Purpose::kFinalTest: return "final test";
  }
  return "?";
}

Status check_fits(const BudgetState& state, const EvaluationEstimate& estimate,
                  Purpose purpose) {
  const double calls = available(static_cast<double>(state.calls_left),
                                 static_cast<double>(state.calls_reserve), purpose);
  if (static_cast<double>(estimate.calls) > calls) {
    return refusal("task-model calls", static_cast<double>(estimate.calls), calls, purpose,
                   fmt::format("evaluate fewer trials or a smaller split, or raise "
                               "budget.task_calls (now {}) in tenant.json",
                               state.caps.task_calls));
  }
  const double judge_calls = available(static_cast<double>(state.judge_calls_left),
                                       static_cast<double>(state.judge_calls_reserve), purpose);
  if (static_cast<double>(estimate.judge_calls) > judge_calls) {
    return refusal("judge-model calls (the judge role: the tenant's LLM judge scorer)",
                   static_cast<double>(estimate.judge_calls), judge_calls, purpose,
                   fmt::format("evaluate fewer trials or a smaller split, or raise "
                               "budget.judge_calls (now {}) in tenant.json",
                               state.caps.judge_calls));
  }
  const double tokens = available(static_cast<double>(state.tokens_left),
                                  static_cast<double>(state.tokens_reserve), purpose);
  if (static_cast<double>(estimate.tokens) > tokens) {
    return refusal("tokens", static_cast<double>(estimate.tokens), tokens, purpose,
                   fmt::format("evaluate fewer trials, or raise budget.task_tokens (now {}) "
                               "in tenant.json",
                               state.caps.task_tokens));
  }
  const double money = available(state.money_left, state.money_reserve, purpose);
  if (money_capped(state) && estimate.money > money) {
    return make_error(ErrorCode::kConflict,
                      fmt::format("budget: this {} evaluation costs about {:.4f} but only "
                                  "{:.4f} of budget.task_money ({:g}) is available to it; "
                                  "evaluate fewer trials, or raise budget.task_money",
                                  purpose_name(purpose), estimate.money, money,
                                  state.caps.task_money));
  }
  if (purpose == Purpose::kValidation && state.validation_evaluations_left < 1) {
    return make_error(ErrorCode::kConflict,
                      fmt::format("budget: all {} validation evaluations "
                                  "(budget.validation_evaluations) are used; decide with the "
                                  "comparisons that exist, or raise the cap in tenant.json",
                                  state.caps.validation_evaluations));
  }
  return ok_status();
}

Status check_variant_allowed(const BudgetState& state) {
  if (state.variants_left > 0) return ok_status();
  return make_error(ErrorCode::kConflict,
                    fmt::format("budget: all {} variants (budget.variants) have been proposed; "
                                "take the best so far to the final test, or raise "
                                "budget.variants in tenant.json",
                                state.caps.variants));
}

std::vector<std::string> preflight_warnings(const BudgetState& state,
                                            const EvaluationEstimate& one_validation_comparison) {
  constexpr long long kMinProposals = 3;
  const EvaluationEstimate& each = one_validation_comparison;
  std::vector<std::string> warnings;
  auto check = [&](const char* what, long long fitting, const std::string& cap) {
    if (fitting >= kMinProposals) return;
    warnings.push_back(fmt::format(
        "the {} left pay for only {} proposal(s) evaluated on validation (fewer than {}); "
        "raise {} in tenant.json before optimising, or the work will stop after a single try",
        what, fitting, kMinProposals, cap));
  };
  auto usable = [](double left, double reserved) {
    return available(left, reserved, Purpose::kValidation);
  };
  check("task-model calls",
        times_fitting(usable(static_cast<double>(state.calls_left),
                             static_cast<double>(state.calls_reserve)),
                      static_cast<double>(each.calls)),
        "budget.task_calls");
  check("tokens",
        times_fitting(usable(static_cast<double>(state.tokens_left),
                             static_cast<double>(state.tokens_reserve)),
                      static_cast<double>(each.tokens)),
        "budget.task_tokens");
  if (money_capped(state)) {
    check("money", times_fitting(usable(state.money_left, state.money_reserve), each.money),
          "budget.task_money");
  }
  check("judge-model calls",
        times_fitting(usable(static_cast<double>(state.judge_calls_left),
                             static_cast<double>(state.judge_calls_reserve)),
                      static_cast<double>(each.judge_calls)),
        "budget.judge_calls");
  check("variants", state.variants_left, "budget.variants");
  check("validation evaluations", state.validation_evaluations_left,
        "budget.validation_evaluations");
  return warnings;
}

nlohmann::json to_json(const BudgetState& state) {
  const bool capped = money_capped(state);
  const nlohmann::json money_left = capped ? nlohmann::json(state.money_left) : nullptr;
  return {
      {"caps",
       {{"task_calls", state.caps.task_calls},
        {"task_tokens", state.caps.task_tokens},
        {"task_money", capped ? nlohmann::json(state.caps.task_money) : nullptr},
        {"judge_calls", state.caps.judge_calls},
        {"variants", state.caps.variants},
        {"validation_evaluations", state.caps.validation_evaluations},
        {"final_test_reserve", state.caps.final_test_reserve}}},
      {"spent",
       {{"calls", state.calls_spent},
        {"tokens", state.tokens_spent},
        {"money", state.money_spent},
        {"judge",
         {{"calls", state.judge_calls_spent},
          {"tokens", state.judge_tokens_spent},
          {"money", state.judge_money_spent}}},
        {"variants", state.variants_used},
        {"validation_evaluations", state.validation_evaluations_used}}},
      {"committed",
       {{"calls", state.committed.calls},
        {"tokens", state.committed.tokens},
        {"money", state.committed.money},
        {"judge_calls", state.committed.judge_calls}}},
      {"reserve",
       {{"calls", state.calls_reserve},
        {"tokens", state.tokens_reserve},
        {"money", capped ? nlohmann::json(state.money_reserve) : nullptr},
        {"judge_calls", state.judge_calls_reserve}}},
      {"remaining",
       {{"calls", state.calls_left},
        {"tokens", state.tokens_left},
        {"money", money_left},
        {"judge_calls", state.judge_calls_left},
        {"variants", state.variants_left},
        {"validation_evaluations", state.validation_evaluations_left}}},
      {"available_outside_reserve",
       {{"calls", std::max(0LL, state.calls_left - state.calls_reserve)},
        {"tokens", std::max(0LL, state.tokens_left - state.tokens_reserve)},
        {"money", capped ? nlohmann::json(std::max(0.0, state.money_left - state.money_reserve))
                         : nullptr},
        {"judge_calls", std::max(0LL, state.judge_calls_left - state.judge_calls_reserve)}}},
      {"validation_comparisons_left", state.validation_comparisons_left},
      {"one_validation_evaluation",
       {{"calls", state.one_validation_evaluation.calls},
        {"tokens", state.one_validation_evaluation.tokens},
        {"money", state.one_validation_evaluation.money},
        {"judge_calls", state.one_validation_evaluation.judge_calls}}}};
}

}  // namespace fapo
