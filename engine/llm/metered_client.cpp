#include "engine/llm/metered_client.h"

namespace fapo {
namespace {

// The totals of the metered call running on this thread. A scheduler reports a call's record on
// the thread that made it, inside MeteredClient::complete, so no lock is needed.
thread_local CostTotals* t_current_call = nullptr;

// Points t_current_call at one call's totals for the duration of that call.
class CurrentCall {
 public:
  explicit CurrentCall(CostTotals* totals) : previous_(t_current_call) {
    t_current_call = totals;
  }
  ~CurrentCall() { t_current_call = previous_; }
  CurrentCall(const CurrentCall&) = delete;
  CurrentCall& operator=(const CurrentCall&) = delete;

 private:
  CostTotals* previous_;
};

}  // namespace

void note_call_attempts(const CallRecord& record) {
  if (t_current_call != nullptr) t_current_call->attempts += record.attempts;
}

MeteredClient::MeteredClient(std::shared_ptr<ModelClient> inner, CostRole role, Prices prices)
    : inner_(std::move(inner)), role_(role), prices_(prices) {}

Result<ModelReply> MeteredClient::complete(const ModelRequest& request,
                                           const CallContext& context) {
  CostTotals delta;
  Result<ModelReply> reply = make_error(ErrorCode::kInternal, "not called");
  {
    CurrentCall current(&delta);
    reply = inner_->complete(request, context);
  }
  if (!reply.ok()) {
    delta.failed = 1;
  } else if (reply->cached) {
    delta.cached = 1;
  } else {
    delta.calls = 1;
    // Clients without a scheduler (the simulated model) report no attempts: they made one.
    if (delta.attempts == 0) delta.attempts = 1;
    delta.tokens_in = reply->tokens_in;
    delta.tokens_out = reply->tokens_out;
    delta.cost = call_cost(prices_, reply->tokens_in, reply->tokens_out);
  }
  std::pair<std::string, int> key{
      context.case_data != nullptr ? context.case_data->case_id : std::string(), context.trial};
  std::lock_guard lock(mutex_);
  pending_[key] += delta;
  total_ += delta;
  return reply;
}

CostTotals MeteredClient::take(const std::string& case_id, int trial) {
  std::lock_guard lock(mutex_);
  auto found = pending_.find({case_id, trial});
  if (found == pending_.end()) return {};
  CostTotals totals = found->second;
  pending_.erase(found);
  return totals;
}

CostTotals MeteredClient::total() const {
  std::lock_guard lock(mutex_);
  return total_;
}

}  // namespace fapo
