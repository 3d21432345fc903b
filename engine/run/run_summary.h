// Computing a RunSummary from result lines. The accumulator sees each (case, trial) result
// once; it keeps per-case sums only (for the standard error), so its memory is small next to
// the results file. Not thread-safe.
#pragma once

#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/run/evaluator.h"

namespace fapo {

class SummaryAccumulator {
 public:
  void add(const nlohmann::json& result);
  // Fills the counts, means and totals of `summary`; identity fields are left to the caller.
  void fill(RunSummary& summary) const;

 private:
  std::size_t results_ = 0;
  std::size_t scored_ = 0;
  std::size_t infrastructure_failures_ = 0;
  std::size_t scorer_failures_ = 0;
  std::size_t judge_fallbacks_ = 0;
  double sum_ = 0;
  long long tokens_in_ = 0;
  long long tokens_out_ = 0;
  long long model_calls_ = 0;
  std::map<std::string, CostTotals> usage_;  // by role name
  std::vector<double> trial_sums_;
  std::vector<double> trial_counts_;
  std::map<std::string, double> breakdown_sums_;
  std::unordered_map<std::string, std::pair<double, double>> case_scores_;  // sum, count
  std::vector<std::string> failed_examples_;
};

}  // namespace fapo
