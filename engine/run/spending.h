// What a tenant's runs have spent so far, tallied from the run store: model calls, tokens and
// money, and how many evaluations each split had. Finished runs are read from their manifests;
// runs without one (running, or interrupted) are summed from their results, so work that was
// paid for is counted even when its run never finished.
//
// Calls and tokens count every recorded model call, those answered from the response cache
// included (the caps bound the work a run does, and an estimate built on them stays an upper
// bound). Money is what the providers charged: the metered usage of each result, in which a
// cached call costs nothing; results written before usage was metered are priced from their
// tokens with the tenant's prices.
//
// The calls of an LLM judge scorer (the judge role) are tallied apart, from the results' usage:
// they are not task-model calls, but their money is part of `cost`.
//
// This is an account, not a limit: engine/budget enforces the caps on top of it.
// Free function; safe to call while runs are being written and from several threads.
#pragma once

#include <cstddef>
#include <map>
#include <string>

#include "engine/base/result.h"
#include "engine/data/tenant_config.h"
#include "engine/llm/cost.h"
#include "engine/run/workspace.h"

namespace fapo {

struct Spending {
  std::size_t runs = 0;
  std::size_t results = 0;  // (case, trial) results recorded
  std::map<std::string, std::size_t> runs_by_split;  // "train", "validation", "test"
  long long model_calls = 0;  // task-model calls (the traces' calls)
  long long tokens_in = 0;    // of the task-model calls
  long long tokens_out = 0;
  double cost = 0;  // in the currency of the tenant's prices; every role, the judge's included
  CostTotals judge;  // the LLM judge role (a `judge` scorer's calls), from the results' usage
  std::size_t unreadable_runs = 0;  // runs whose files could not be read (not counted)
};

// Sums every run of `tenant_id`. `prices` costs the results written before usage was metered.
Result<Spending> tally_spending(const Workspace& workspace, const std::string& tenant_id,
                                const ModelPrices& prices);

}  // namespace fapo
