// RunSummary: JSON form and computation from a run's results file.
#include "engine/run/run_summary.h"

#include <cmath>
#include <unordered_map>

namespace fapo {

namespace {

nlohmann::json usage_json(const std::map<std::string, CostTotals>& usage) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [role, totals] : usage) out[role] = totals.to_json();
  return out;
}

// Results written before usage was metered: every call counted as made, at no known price.
CostTotals usage_of_unmetered(const nlohmann::json& result) {
  CostTotals totals;
  totals.calls = result.value("model_calls", 0LL);
  totals.tokens_in = result.value("tokens_in", 0LL);
  totals.tokens_out = result.value("tokens_out", 0LL);
  return totals;
}

}  // namespace

nlohmann::json to_json(const RunSummary& summary) {
  return {{"run_id", summary.run_id},
          {"tenant_id", summary.tenant_id},
          {"variant_id", summary.variant_id},
          {"split", summary.split},
          {"status", summary.status},
          {"model_provider", summary.model_provider},
          {"simulated", summary.model_provider == "sim"},
          {"trials", summary.trials},
          {"cases", summary.cases},
          {"results", summary.results},
          {"scored", summary.scored},
          {"infrastructure_failures", summary.infrastructure_failures},
          {"scorer_failures", summary.scorer_failures},
          {"judge_fallbacks", summary.judge_fallbacks},
          {"mean", summary.mean},
          {"standard_error", summary.standard_error},
          {"trial_means", summary.trial_means},
          {"breakdown_means", summary.breakdown_means},
          {"failed_case_examples", summary.failed_case_examples},
          {"tokens_in", summary.tokens_in},
          {"tokens_out", summary.tokens_out},
          {"model_calls", summary.model_calls},
          {"usage", usage_json(summary.usage)},
          {"cached_calls", summary.cached_calls},
          {"cost", summary.cost},
          {"cache_mode", summary.cache_mode},
          {"wall_seconds", summary.wall_seconds}};
}

RunSummary run_summary_from_json(const nlohmann::json& json) {
  RunSummary summary;
  summary.run_id = json.value("run_id", "");
  summary.tenant_id = json.value("tenant_id", "");
  summary.variant_id = json.value("variant_id", "");
  summary.split = json.value("split", "");
  summary.status = json.value("status", "");
  summary.model_provider = json.value("model_provider", "");
  summary.trials = json.value("trials", 0);
  summary.cases = json.value("cases", std::size_t{0});
  summary.results = json.value("results", std::size_t{0});
  summary.scored = json.value("scored", std::size_t{0});
  summary.infrastructure_failures = json.value("infrastructure_failures", std::size_t{0});
  summary.scorer_failures = json.value("scorer_failures", std::size_t{0});
  summary.judge_fallbacks = json.value("judge_fallbacks", std::size_t{0});
  summary.mean = json.value("mean", 0.0);
  summary.standard_error = json.value("standard_error", 0.0);
  summary.trial_means = json.value("trial_means", std::vector<double>{});
  summary.breakdown_means = json.value("breakdown_means", std::map<std::string, double>{});
  summary.failed_case_examples = json.value("failed_case_examples", std::vector<std::string>{});
  summary.tokens_in = json.value("tokens_in", 0LL);
  summary.tokens_out = json.value("tokens_out", 0LL);
  summary.model_calls = json.value("model_calls", 0LL);
  if (json.contains("usage") && json["usage"].is_object()) {
    for (const auto& [role, totals] : json["usage"].items()) {
      summary.usage[role] = CostTotals::from_json(totals);
    }
  }
  summary.cached_calls = json.value("cached_calls", 0LL);
  summary.cost = json.value("cost", 0.0);
  summary.cache_mode = json.value("cache_mode", "");
  summary.wall_seconds = json.value("wall_seconds", 0.0);
  return summary;
}

void SummaryAccumulator::add(const nlohmann::json& result) {
  ++results_;
  tokens_in_ += result.value("tokens_in", 0LL);
  tokens_out_ += result.value("tokens_out", 0LL);
  model_calls_ += result.value("model_calls", 0LL);
  const auto usage = result.find("usage");
  if (usage != result.end() && usage->is_object()) {
    for (const auto& [role, totals] : usage->items()) usage_[role] += CostTotals::from_json(totals);
  } else {
    usage_["task"] += usage_of_unmetered(result);
  }
  const std::string case_id = result.value("case_id", "");
  bool infrastructure = result.value("infrastructure_failure", false);
  bool scorer_failed = result.contains("scorer_error");
  if (infrastructure) ++infrastructure_failures_;
  if (scorer_failed) ++scorer_failures_;
  const auto fallbacks = result.find("judge_fallbacks");
  if (fallbacks != result.end() && fallbacks->is_number_integer() &&
      fallbacks->get<long long>() > 0) {
    judge_fallbacks_ += static_cast<std::size_t>(fallbacks->get<long long>());
  }
  if ((infrastructure || scorer_failed) && failed_examples_.size() < 10) {
    failed_examples_.push_back(case_id);
  }
  if (!result.contains("score") || !result["score"].is_number()) return;
  double score = result["score"].get<double>();
  int trial = result.value("trial", 0);
  if (trial >= static_cast<int>(trial_sums_.size())) {
    trial_sums_.resize(trial + 1);
    trial_counts_.resize(trial + 1);
  }
  trial_sums_[trial] += score;
  trial_counts_[trial] += 1;
  auto& per_case = case_scores_[case_id];
  per_case.first += score;
  per_case.second += 1;
  ++scored_;
  sum_ += score;
  if (result.contains("breakdown") && result["breakdown"].is_object()) {
    for (const auto& [name, value] : result["breakdown"].items()) {
      if (!value.is_number()) continue;
      breakdown_sums_[name] += value.get<double>();
    }
  }
}

void SummaryAccumulator::fill(RunSummary& summary) const {
  summary.results = results_;
  summary.scored = scored_;
  summary.infrastructure_failures = infrastructure_failures_;
  summary.scorer_failures = scorer_failures_;
  summary.judge_fallbacks = judge_fallbacks_;
  summary.failed_case_examples = failed_examples_;
  summary.tokens_in = tokens_in_;
  summary.tokens_out = tokens_out_;
  summary.model_calls = model_calls_;
  summary.usage = usage_;
  summary.usage.try_emplace("task");  // always reported, even for a run with no results yet
  summary.cached_calls = 0;
  summary.cost = 0;
  for (const auto& [role, totals] : summary.usage) {
    summary.cached_calls += totals.cached;
    summary.cost += totals.cost;
  }
  summary.mean = scored_ ? sum_ / static_cast<double>(scored_) : 0;
  summary.trial_means.clear();
  for (std::size_t t = 0; t < trial_sums_.size(); ++t) {
    summary.trial_means.push_back(trial_counts_[t] ? trial_sums_[t] / trial_counts_[t] : 0);
  }
  summary.breakdown_means.clear();
  for (const auto& [name, total] : breakdown_sums_) {
    summary.breakdown_means[name] = scored_ ? total / static_cast<double>(scored_) : 0;
  }
  // Standard error over cases (the unit of sampling), using each case's mean over trials.
  std::size_t n = case_scores_.size();
  if (n > 1) {
    double mean = 0;
    for (const auto& [id, entry] : case_scores_) mean += entry.first / entry.second;
    mean /= static_cast<double>(n);
    double squares = 0;
    for (const auto& [id, entry] : case_scores_) {
      double d = entry.first / entry.second - mean;
      squares += d * d;
    }
    summary.standard_error = std::sqrt(squares / static_cast<double>(n - 1) / static_cast<double>(n));
  }
}

}  // namespace fapo
