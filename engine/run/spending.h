// What a tenant's runs have spent so far, tallied from the run store: model calls, tokens and
// money, and how many evaluations each split had. Finished runs are read from their manifests;
// runs without one (running, or interrupted) are summed from their results, so work that was
// paid for is counted even when its run never finished. Calls answered from the response cache
// are counted as recorded (they cost nothing to repeat, but they were paid for once).
//
// This is an account, not a limit: enforcing budgets belongs to the variant and journal layer.
// Free function; safe to call while runs are being written and from several threads.
#pragma once

#include <cstddef>
#include <map>
#include <string>

#include "engine/base/result.h"
#include "engine/data/tenant_config.h"
#include "engine/run/workspace.h"

namespace fapo {

struct Spending {
  std::size_t runs = 0;
  std::size_t results = 0;  // (case, trial) results recorded
  std::map<std::string, std::size_t> runs_by_split;  // "train", "validation", "test"
  long long model_calls = 0;
  long long tokens_in = 0;
  long long tokens_out = 0;
  double cost = 0;  // in the currency of the tenant's prices
  std::size_t unreadable_runs = 0;  // runs whose files could not be read (not counted)
};

// Sums every run of `tenant_id`. `prices` costs the tokens of runs that have no manifest yet.
Result<Spending> tally_spending(const Workspace& workspace, const std::string& tenant_id,
                                const ModelPrices& prices);

}  // namespace fapo
