// Money and token accounting for model calls. A price table (per million tokens, as providers
// publish them) turns a call's token counts into money; a CostLedger sums calls per role (the
// task model and the judge model are budgeted separately). CostLedger is thread-safe: every
// worker of a run adds to the same ledger.
#pragma once

#include <array>
#include <cstdint>
#include <mutex>
#include <string>

#include <nlohmann/json.hpp>

namespace fapo {

struct Prices {
  double input_per_mtok = 0;   // money per 1,000,000 prompt tokens
  double output_per_mtok = 0;  // money per 1,000,000 completion tokens
};

double call_cost(const Prices& prices, std::int64_t tokens_in, std::int64_t tokens_out);

enum class CostRole { kTask, kJudge };
const char* cost_role_name(CostRole role);  // "task", "judge"

struct CostTotals {
  std::int64_t calls = 0;     // calls that reached the provider and returned a reply
  std::int64_t failed = 0;    // calls that failed for good (after retries)
  std::int64_t attempts = 0;  // HTTP attempts, including retries and failed calls
  std::int64_t cached = 0;    // calls answered from the response cache: no tokens, no cost
  std::int64_t tokens_in = 0;   // of the calls that reached the provider
  std::int64_t tokens_out = 0;
  double cost = 0;

  CostTotals& operator+=(const CostTotals& other);
  nlohmann::json to_json() const;
  // Reads what to_json wrote; missing fields are 0 (records written before a field existed).
  static CostTotals from_json(const nlohmann::json& json);
};

class CostLedger {
 public:
  void add(CostRole role, const CostTotals& delta);
  CostTotals totals(CostRole role) const;
  CostTotals grand_total() const;
  // {"task": {...}, "judge": {...}, "total": {...}} for the run manifest.
  nlohmann::json to_json() const;

 private:
  mutable std::mutex mutex_;  // guards totals_
  std::array<CostTotals, 2> totals_;
};

}  // namespace fapo
