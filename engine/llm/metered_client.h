// Usage accounting for the model calls of one run. A MeteredClient wraps the client a run
// calls (a provider client behind the response cache, or the simulated model) and sums, per
// (case, trial), what its calls used: calls that reached the provider with their tokens, money
// (from the tenant's price table) and HTTP attempts, calls answered from the cache (free), and
// calls that failed for good. The evaluator takes each case's totals into its result line, so a
// run's usage is the sum of its results and survives a resume.
//
// Attempts are known only to the Scheduler: HTTP clients report them through
// note_call_attempts (their CallBindings::on_call), which credits the metered call running on
// the same thread. MeteredClient is thread-safe.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include "engine/llm/cost.h"
#include "engine/llm/model.h"
#include "engine/llm/scheduler.h"

namespace fapo {

class MeteredClient : public ModelClient {
 public:
  MeteredClient(std::shared_ptr<ModelClient> inner, CostRole role, Prices prices);

  Result<ModelReply> complete(const ModelRequest& request, const CallContext& context) override;
  std::string provider() const override { return inner_->provider(); }
  CostRole role() const { return role_; }

  // What the calls for (case_id, trial) used since the last take; forgets them.
  CostTotals take(const std::string& case_id, int trial);
  // Everything this client metered, taken or not.
  CostTotals total() const;

 private:
  std::shared_ptr<ModelClient> inner_;
  CostRole role_;
  Prices prices_;
  mutable std::mutex mutex_;  // guards pending_ and total_
  std::map<std::pair<std::string, int>, CostTotals> pending_;
  CostTotals total_;
};

// Adds record.attempts to the MeteredClient call in progress on this thread; does nothing when
// there is none. Meant for CallBindings::on_call.
void note_call_attempts(const CallRecord& record);

}  // namespace fapo
