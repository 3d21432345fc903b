#include "engine/llm/cost.h"

namespace fapo {

double call_cost(const Prices& prices, std::int64_t tokens_in, std::int64_t tokens_out) {
  constexpr double kPerMillion = 1e-6;
  return (static_cast<double>(tokens_in) * prices.input_per_mtok +
          static_cast<double>(tokens_out) * prices.output_per_mtok) *
         kPerMillion;
}

const char* cost_role_name(CostRole role) {
  switch (role) {
    case CostRole::kTask: return "task";
    case CostRole::kJudge: return "judge";
  }
  return "unknown";
}

CostTotals& CostTotals::operator+=(const CostTotals& other) {
  calls += other.calls;
  failed += other.failed;
  attempts += other.attempts;
  cached += other.cached;
  tokens_in += other.tokens_in;
  tokens_out += other.tokens_out;
  cost += other.cost;
  return *this;
}

nlohmann::json CostTotals::to_json() const {
  return {{"calls", calls},         {"failed", failed},         {"attempts", attempts},
          {"cached", cached},       {"tokens_in", tokens_in}, {"tokens_out", tokens_out},
          {"cost", cost}};
}

CostTotals CostTotals::from_json(const nlohmann::json& json) {
  CostTotals totals;
  if (!json.is_object()) return totals;
  auto count = [&](const char* name) {
    const auto found = json.find(name);
    return found != json.end() && found->is_number() ? found->get<std::int64_t>() : 0;
  };
  totals.calls = count("calls");
  totals.failed = count("failed");
  totals.attempts = count("attempts");
  totals.cached = count("cached");
  totals.tokens_in = count("tokens_in");
  totals.tokens_out = count("tokens_out");
  const auto cost = json.find("cost");
  totals.cost = cost != json.end() && cost->is_number() ? cost->get<double>() : 0;
  return totals;
}

void CostLedger::add(CostRole role, const CostTotals& delta) {
  std::lock_guard lock(mutex_);
  totals_[static_cast<std::size_t>(role)] += delta;
}

CostTotals CostLedger::totals(CostRole role) const {
  std::lock_guard lock(mutex_);
  return totals_[static_cast<std::size_t>(role)];
}

CostTotals CostLedger::grand_total() const {
  std::lock_guard lock(mutex_);
  CostTotals sum;
  for (const auto& totals : totals_) sum += totals;
  return sum;
}

nlohmann::json CostLedger::to_json() const {
  return {{"task", totals(CostRole::kTask).to_json()},
          {"judge", totals(CostRole::kJudge).to_json()},
          {"total", grand_total().to_json()}};
}

}  // namespace fapo
