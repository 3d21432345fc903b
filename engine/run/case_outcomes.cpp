#include "engine/run/case_outcomes.h"

#include <unordered_map>

#include "engine/base/strings.h"

namespace fapo {
namespace {

using nlohmann::json;

std::string string_field(const json& line, const char* key) {
  auto it = line.find(key);
  return it != line.end() && it->is_string() ? it->get<std::string>() : std::string();
}

int trial_of(const json& line) {
  auto it = line.find("trial");
  return it != line.end() && it->is_number_integer() ? it->get<int>() : -1;
}

void add_result(CaseOutcome& outcome, const json& line, int trial) {
  if (trial >= static_cast<int>(outcome.trial_scores.size())) return;
  ++outcome.results;
  auto flag = line.find("infrastructure_failure");
  const bool infrastructure = flag != line.end() && flag->is_boolean() && flag->get<bool>();
  const bool scorer_failed = line.contains("scorer_error");
  outcome.infrastructure_failure |= infrastructure;
  outcome.scorer_failure |= scorer_failed;
  if (outcome.error.empty()) {
    outcome.error = string_field(line, "error");
    if (outcome.error.empty()) outcome.error = string_field(line, "scorer_error");
  }
  // The output shown is that of the lowest trial recorded, whatever order trials finish in.
  if (outcome.output_trial < 0 || trial < outcome.output_trial) {
    outcome.output_trial = trial;
    outcome.final_output = truncate_utf8(string_field(line, "final_output"), kMaxKeptOutputBytes);
  }
  auto score = line.find("score");
  if (score == line.end() || !score->is_number()) {
    outcome.failed = true;
    return;
  }
  const double value = score->get<double>();
  outcome.trial_scores[trial] = value;
  outcome.mean = (outcome.mean * static_cast<double>(outcome.scored) + value) /
                 static_cast<double>(outcome.scored + 1);
  ++outcome.scored;
  if (value < kFullMarks) outcome.failed = true;
}

}  // namespace

Result<std::vector<CaseOutcome>> read_case_outcomes(const RunStore& store, const RunPlan& plan) {
  std::vector<CaseOutcome> outcomes(plan.case_ids.size());
  std::unordered_map<std::string, std::size_t> index;
  for (std::size_t i = 0; i < plan.case_ids.size(); ++i) {
    outcomes[i].case_id = plan.case_ids[i];
    outcomes[i].trial_scores.resize(static_cast<std::size_t>(plan.trials));
    index.emplace(plan.case_ids[i], i);
  }
  FAPO_RETURN_IF_ERROR(store.for_each_result(plan.run_id, [&](const json& line) {
    auto found = index.find(string_field(line, "case_id"));
    const int trial = trial_of(line);
    if (found == index.end() || trial < 0) return;
    add_result(outcomes[found->second], line, trial);
  }));
  std::vector<CaseOutcome> recorded;
  for (CaseOutcome& outcome : outcomes) {
    if (outcome.results > 0) recorded.push_back(std::move(outcome));
  }
  return recorded;
}

Result<json> read_case_result(const RunStore& store, const RunPlan& plan,
                              const std::string& case_id, int trial) {
  bool in_plan = false;
  for (const std::string& id : plan.case_ids) in_plan |= id == case_id;
  if (!in_plan) {
    std::string message = "case '" + case_id + "' is not in run " + plan.run_id;
    if (auto guess = closest_match(case_id, plan.case_ids)) {
      message += " (did you mean '" + *guess + "'?)";
    }
    return make_error(ErrorCode::kNotFound, message);
  }
  if (trial < 0 || trial >= plan.trials) {
    return make_error(ErrorCode::kNotFound,
                      "run " + plan.run_id + " has trials 0.." + std::to_string(plan.trials - 1) +
                          ", not " + std::to_string(trial));
  }
  std::optional<json> match;
  FAPO_RETURN_IF_ERROR(store.for_each_result(plan.run_id, [&](const json& line) {
    if (!match && string_field(line, "case_id") == case_id && trial_of(line) == trial) {
      match = line;
    }
  }));
  if (!match) {
    return make_error(ErrorCode::kNotFound, "case '" + case_id + "' trial " +
                                                std::to_string(trial) + " of run " + plan.run_id +
                                                " has no result yet");
  }
  return std::move(*match);
}

}  // namespace fapo
