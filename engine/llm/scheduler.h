// The scheduler runs every real model call of a process. Calls are grouped into lanes (one per
// provider, endpoint and model, since that is what providers rate-limit); each lane has a
// concurrency limit and request- and token-per-minute buckets. A call is retried with
// exponential backoff and full jitter on transient failures only, honouring Retry-After, within
// a per-call and a per-run deadline, and stops between attempts when its run is cancelled.
// Each call yields a CallRecord (attempts, retries, latency, tokens, cost).
//
// All waiting goes through a Clock, so tests drive backoffs and rate limits with a ManualClock
// instead of sleeping. Scheduler is thread-safe; share one instance across the process.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "engine/base/result.h"
#include "engine/llm/cost.h"
#include "engine/llm/model.h"

namespace fapo {

using Millis = std::chrono::milliseconds;

// Time and waiting. Exists so backoffs, rate limits and deadlines are testable without sleeping.
class Clock {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;
  virtual ~Clock() = default;
  virtual TimePoint now() = 0;
  // Waits `duration`, returning early once *cancelled (when given) turns true.
  virtual void sleep_for(Millis duration, const std::atomic<bool>* cancelled) = 0;
};

// The steady clock and real sleeps (in short slices, to notice cancellation).
Clock& real_clock();

// Time stands still until someone sleeps: sleep_for advances it and records the duration.
// Thread-safe.
class ManualClock : public Clock {
 public:
  TimePoint now() override;
  void sleep_for(Millis duration, const std::atomic<bool>* cancelled) override;
  void advance(Millis duration);
  std::vector<Millis> sleeps() const;  // every sleep_for request, in order
  Millis total_slept() const;

 private:
  mutable std::mutex mutex_;  // guards now_ and sleeps_
  TimePoint now_{};
  std::vector<Millis> sleeps_;
};

// A rate in units per minute, enforced as a token bucket that may go into debt: a caller takes
// what it needs at once and is told how long to wait until the debt is repaid, so callers are
// served in arrival order without polling. Burst capacity is a tenth of a minute's allowance
// (at least one unit). Not thread-safe; a lane guards it.
class TokenBucket {
 public:
  TokenBucket(double per_minute, Clock::TimePoint start);
  // Takes `amount` and returns how long the caller must wait before proceeding.
  Millis take(double amount, Clock::TimePoint now);
  // Returns units taken but not used (an estimate that turned out too high).
  void give_back(double amount, Clock::TimePoint now);
  bool unlimited() const { return per_minute_ <= 0; }

 private:
  void refill(Clock::TimePoint now);
  double per_minute_;
  double capacity_;
  double level_;
  Clock::TimePoint last_;
};

struct LaneLimits {
  int concurrency = 8;
  int requests_per_minute = 0;  // 0 = unlimited
  int tokens_per_minute = 0;    // 0 = unlimited
};

struct RetryPolicy {
  int retries = 4;           // attempts after the first
  Millis attempt_timeout{60000};
  Millis call_deadline{0};   // whole call including backoffs; 0 = none
};

// Per-run controls; the pointed-to flag must outlive the calls that use it.
struct RunControl {
  const std::atomic<bool>* cancelled = nullptr;
  std::optional<Clock::TimePoint> deadline;  // on the scheduler's clock
};

struct CallRecord {
  int attempts = 0;
  int retries = 0;
  double latency_ms = 0;  // first attempt to final outcome, backoffs included
  int tokens_in = 0;
  int tokens_out = 0;
  double cost = 0;
  std::vector<std::string> failures;  // one line per failed attempt, oldest first
  std::optional<Error> error;         // set when the call failed for good
};

// What a client attaches to all of its calls.
struct CallBindings {
  RunControl run;
  CostLedger* ledger = nullptr;  // optional; must outlive the client
  CostRole role = CostRole::kTask;
  // Optional; called once per call on the calling thread, so it must be thread-safe when the
  // client is shared by several threads.
  std::function<void(const CallRecord&)> on_call;
};

// One call as the scheduler sees it.
struct CallSpec {
  std::string lane;         // "openai https://api.openai.com/v1 gpt-4.1-mini"
  std::string description;  // for messages: "openai gpt-4.1-mini at https://…"
  LaneLimits limits;
  RetryPolicy retry;
  Prices prices;
  double estimated_tokens = 0;  // for the tokens-per-minute bucket
};

// The outcome of one attempt. `retry_after` is the server's requested delay, if any.
struct AttemptOutcome {
  Result<ModelReply> reply;
  std::optional<Millis> retry_after;
};

// Makes one attempt with the given time limit.
using AttemptFn = std::function<AttemptOutcome(Millis timeout)>;

struct SchedulerOptions {
  Millis backoff_base{500};       // first retry waits up to this, doubling each time
  Millis backoff_cap{30000};
  Millis max_retry_after{120000};  // a longer Retry-After ends the call instead of waiting
  std::uint64_t jitter_seed = 0;   // 0: seeded from std::random_device
};

struct LaneStats {
  std::int64_t calls = 0;
  std::int64_t attempts = 0;
  int peak_in_flight = 0;
};

class Scheduler {
 public:
  // `clock` must outlive the scheduler.
  explicit Scheduler(SchedulerOptions options = {}, Clock& clock = real_clock());
  ~Scheduler();
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // Runs `attempt` until it succeeds, fails permanently, or the retry budget or a deadline is
  // spent. kCancelled when the run was cancelled or its deadline passed.
  Result<ModelReply> call(const CallSpec& spec, const CallBindings& bindings,
                          const AttemptFn& attempt);

  LaneStats lane_stats(const std::string& lane) const;
  Clock& clock() { return clock_; }

 private:
  class Lane;
  struct Deadline;
  Lane& lane_for(const CallSpec& spec);
  Millis backoff(int failed_attempts);
  Deadline deadline_for(const CallSpec& spec, const RunControl& run, Clock::TimePoint start) const;
  Error deadline_error(const CallSpec& spec, const Deadline& deadline,
                       const CallRecord& record) const;
  Status wait_for_rate(Lane& lane, const CallSpec& spec, const CallBindings& bindings,
                       const Deadline& deadline, const CallRecord& record);
  Result<Millis> retry_delay(const CallSpec& spec, const AttemptOutcome& outcome,
                             const CallRecord& record);
  Result<ModelReply> finish(const CallSpec& spec, const CallBindings& bindings,
                            CallRecord& record, Clock::TimePoint start, Result<ModelReply> result);

  SchedulerOptions options_;
  Clock& clock_;

  mutable std::mutex lanes_mutex_;  // guards lanes_
  std::map<std::string, std::unique_ptr<Lane>> lanes_;

  std::mutex jitter_mutex_;  // guards jitter_
  std::mt19937_64 jitter_;
};

// Rough token count of a request's prompt (characters ÷ 4) plus its max_tokens: the amount a
// provider's tokens-per-minute limit charges up front.
double estimate_request_tokens(const ModelRequest& request);

}  // namespace fapo
