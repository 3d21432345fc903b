#include "engine/llm/scheduler.h"

#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <thread>

#include <spdlog/spdlog.h>

namespace fapo {
namespace {

using TimePoint = Clock::TimePoint;

class RealClock final : public Clock {
 public:
  TimePoint now() override { return std::chrono::steady_clock::now(); }

  void sleep_for(Millis duration, const std::atomic<bool>* cancelled) override {
    // Short slices so a cancelled run stops waiting within a few tens of milliseconds.
    constexpr Millis kSlice{20};
    const auto until = now() + duration;
    while (true) {
      if (cancelled != nullptr && cancelled->load()) return;
      auto left = std::chrono::duration_cast<Millis>(until - now());
      if (left <= Millis(0)) return;
      std::this_thread::sleep_for(std::min(left, kSlice));
    }
  }
};

Millis to_millis(std::chrono::steady_clock::duration duration) {
  return std::chrono::duration_cast<Millis>(duration);
}

bool is_cancelled(const RunControl& run) {
  return run.cancelled != nullptr && run.cancelled->load();
}

}  // namespace

Clock& real_clock() {
  static RealClock clock;
  return clock;
}

// ---- ManualClock ----

TimePoint ManualClock::now() {
  std::lock_guard lock(mutex_);
  return now_;
}

void ManualClock::sleep_for(Millis duration, const std::atomic<bool>*) {
  std::lock_guard lock(mutex_);
  sleeps_.push_back(duration);
  now_ += duration;
}

void ManualClock::advance(Millis duration) {
  std::lock_guard lock(mutex_);
  now_ += duration;
}

std::vector<Millis> ManualClock::sleeps() const {
  std::lock_guard lock(mutex_);
  return sleeps_;
}

Millis ManualClock::total_slept() const {
  std::lock_guard lock(mutex_);
  Millis total{0};
  for (auto sleep : sleeps_) total += sleep;
  return total;
}

// ---- TokenBucket ----

TokenBucket::TokenBucket(double per_minute, TimePoint start)
    : per_minute_(per_minute),
      capacity_(std::max(1.0, per_minute / 10)),
      level_(capacity_),
      last_(start) {}

void TokenBucket::refill(TimePoint now) {
  if (now <= last_) return;
  double minutes = std::chrono::duration<double, std::ratio<60>>(now - last_).count();
  level_ = std::min(capacity_, level_ + minutes * per_minute_);
  last_ = now;
}

Millis TokenBucket::take(double amount, TimePoint now) {
  if (unlimited()) return Millis(0);
  refill(now);
  level_ -= amount;
  if (level_ >= 0) return Millis(0);
  double minutes = -level_ / per_minute_;
  return Millis(static_cast<std::int64_t>(std::ceil(minutes * 60000)));
}

void TokenBucket::give_back(double amount, TimePoint now) {
  if (unlimited()) return;
  refill(now);
  level_ = std::min(capacity_, level_ + amount);
}

// ---- Lane ----

// The limits and counters of one provider endpoint and model.
class Scheduler::Lane {
 public:
  Lane(const LaneLimits& limits, TimePoint now)
      : concurrency_(std::max(1, limits.concurrency)),
        requests_(limits.requests_per_minute, now),
        tokens_(limits.tokens_per_minute, now),
        requests_per_minute_(limits.requests_per_minute),
        tokens_per_minute_(limits.tokens_per_minute) {}

  // Two configurations naming the same endpoint and model share one lane; the stricter limits
  // win, since the provider enforces one limit for both.
  void tighten(const LaneLimits& limits, TimePoint now) {
    std::lock_guard lock(mutex_);
    concurrency_ = std::min(concurrency_, std::max(1, limits.concurrency));
    if (limits.requests_per_minute > 0 &&
        (requests_.unlimited() || limits.requests_per_minute < requests_per_minute_)) {
      requests_ = TokenBucket(limits.requests_per_minute, now);
      requests_per_minute_ = limits.requests_per_minute;
    }
    if (limits.tokens_per_minute > 0 &&
        (tokens_.unlimited() || limits.tokens_per_minute < tokens_per_minute_)) {
      tokens_ = TokenBucket(limits.tokens_per_minute, now);
      tokens_per_minute_ = limits.tokens_per_minute;
    }
  }

  Millis reserve(double tokens, TimePoint now) {
    std::lock_guard lock(mutex_);
    return std::max(requests_.take(1, now), tokens_.take(tokens, now));
  }

  // Returns allowance that was reserved but not used.
  void give_back(double requests, double tokens, TimePoint now) {
    std::lock_guard lock(mutex_);
    if (requests > 0) requests_.give_back(requests, now);
    if (tokens > 0) tokens_.give_back(tokens, now);
  }

  // Waits for a free slot; false when the run was cancelled while waiting.
  bool acquire(const RunControl& run) {
    std::unique_lock lock(mutex_);
    while (in_flight_ >= concurrency_) {
      if (is_cancelled(run)) return false;
      slot_freed_.wait_for(lock, Millis(50));
    }
    ++in_flight_;
    ++attempts_;
    peak_ = std::max(peak_, in_flight_);
    return true;
  }

  void release() {
    {
      std::lock_guard lock(mutex_);
      --in_flight_;
    }
    slot_freed_.notify_one();
  }

  void count_call() {
    std::lock_guard lock(mutex_);
    ++calls_;
  }

  LaneStats stats() {
    std::lock_guard lock(mutex_);
    return LaneStats{calls_, attempts_, peak_};
  }

 private:
  std::mutex mutex_;  // guards everything below
  std::condition_variable slot_freed_;
  int concurrency_;
  int in_flight_ = 0;
  int peak_ = 0;
  std::int64_t calls_ = 0;
  std::int64_t attempts_ = 0;
  TokenBucket requests_;
  TokenBucket tokens_;
  int requests_per_minute_ = 0;
  int tokens_per_minute_ = 0;
};

// ---- Scheduler ----

Scheduler::Scheduler(SchedulerOptions options, Clock& clock)
    : options_(options),
      clock_(clock),
      jitter_(options.jitter_seed != 0 ? options.jitter_seed : std::random_device{}()) {}

Scheduler::~Scheduler() = default;

Scheduler::Lane& Scheduler::lane_for(const CallSpec& spec) {
  std::lock_guard lock(lanes_mutex_);
  auto& lane = lanes_[spec.lane];
  if (lane) {
    lane->tighten(spec.limits, clock_.now());
  } else {
    lane = std::make_unique<Lane>(spec.limits, clock_.now());
  }
  return *lane;
}

LaneStats Scheduler::lane_stats(const std::string& lane) const {
  std::lock_guard lock(lanes_mutex_);
  auto found = lanes_.find(lane);
  return found == lanes_.end() ? LaneStats{} : found->second->stats();
}

Millis Scheduler::backoff(int failed_attempts) {
  // Full jitter: uniform in [0, min(cap, base · 2^(n-1))], so retrying clients spread out
  // instead of hitting a recovering server in waves.
  double ceiling = static_cast<double>(options_.backoff_base.count()) *
                   std::pow(2.0, std::min(failed_attempts - 1, 30));
  ceiling = std::min(ceiling, static_cast<double>(options_.backoff_cap.count()));
  std::lock_guard lock(jitter_mutex_);
  std::uniform_real_distribution<double> uniform(0.0, ceiling);
  return Millis(static_cast<std::int64_t>(uniform(jitter_)));
}

// The earlier of the call's own deadline and its run's, with what to say when it passes.
struct Scheduler::Deadline {
  std::optional<TimePoint> at;
  bool is_run = false;  // the run's deadline: the run stops (kCancelled), not just this call

  Millis left(TimePoint now) const {
    return at ? std::max(Millis(0), to_millis(*at - now)) : Millis::max();
  }
};

Scheduler::Deadline Scheduler::deadline_for(const CallSpec& spec, const RunControl& run,
                                            TimePoint start) const {
  Deadline deadline;
  if (spec.retry.call_deadline > Millis(0)) deadline.at = start + spec.retry.call_deadline;
  if (run.deadline && (!deadline.at || *run.deadline <= *deadline.at)) {
    deadline.at = run.deadline;
    deadline.is_run = true;
  }
  return deadline;
}

Error Scheduler::deadline_error(const CallSpec& spec, const Deadline& deadline,
                                const CallRecord& record) const {
  if (deadline.is_run) {
    return make_error(ErrorCode::kCancelled, "run deadline reached before " + spec.description +
                                                 " could answer");
  }
  std::string message = "call deadline of " +
                        std::to_string(spec.retry.call_deadline.count()) + " ms reached for " +
                        spec.description + " after " + std::to_string(record.attempts) +
                        " attempt(s)";
  if (!record.failures.empty()) message += "; last failure: " + record.failures.back();
  return make_error(ErrorCode::kModelTransient, message);
}

Status Scheduler::wait_for_rate(Lane& lane, const CallSpec& spec, const CallBindings& bindings,
                                const Deadline& deadline, const CallRecord& record) {
  Millis wait = lane.reserve(spec.estimated_tokens, clock_.now());
  if (wait <= Millis(0)) return ok_status();
  if (wait > deadline.left(clock_.now())) {
    lane.give_back(1, spec.estimated_tokens, clock_.now());
    return deadline_error(spec, deadline, record);
  }
  spdlog::debug("{}: rate limit, waiting {} ms", spec.description, wait.count());
  clock_.sleep_for(wait, bindings.run.cancelled);
  return ok_status();
}

// The delay before the next attempt, or the error that ends the call instead.
Result<Millis> Scheduler::retry_delay(const CallSpec& spec, const AttemptOutcome& outcome,
                                      const CallRecord& record) {
  const Error& error = outcome.reply.error();
  if (record.attempts > spec.retry.retries) {
    return make_error(ErrorCode::kModelTransient,
                      spec.description + " failed after " + std::to_string(record.attempts) +
                          " attempt(s): " + error.message);
  }
  Millis delay = backoff(record.attempts);
  if (outcome.retry_after) {
    if (*outcome.retry_after > options_.max_retry_after) {
      return make_error(ErrorCode::kModelTransient,
                        spec.description + " asked to wait " +
                            std::to_string(outcome.retry_after->count()) +
                            " ms (Retry-After), longer than the " +
                            std::to_string(options_.max_retry_after.count()) +
                            " ms this scheduler waits: " + error.message);
    }
    delay = std::max(delay, *outcome.retry_after);
  }
  return delay;
}

Result<ModelReply> Scheduler::finish(const CallSpec& spec, const CallBindings& bindings,
                                     CallRecord& record, TimePoint start,
                                     Result<ModelReply> result) {
  record.latency_ms = std::chrono::duration<double, std::milli>(clock_.now() - start).count();
  CostTotals delta;
  delta.attempts = record.attempts;
  if (result.ok()) {
    record.tokens_in = result->tokens_in;
    record.tokens_out = result->tokens_out;
    record.cost = call_cost(spec.prices, record.tokens_in, record.tokens_out);
    delta.calls = 1;
    delta.tokens_in = record.tokens_in;
    delta.tokens_out = record.tokens_out;
    delta.cost = record.cost;
  } else {
    record.error = result.error();
    delta.failed = 1;
    if (result.error().code == ErrorCode::kCancelled) {
      spdlog::debug("{}: {}", spec.description, result.error().message);
    } else {
      spdlog::warn("model call failed: {}", result.error().message);
    }
  }
  if (bindings.ledger != nullptr) bindings.ledger->add(bindings.role, delta);
  if (bindings.on_call) bindings.on_call(record);
  return result;
}

Result<ModelReply> Scheduler::call(const CallSpec& spec, const CallBindings& bindings,
                                   const AttemptFn& attempt) {
  Lane& lane = lane_for(spec);
  lane.count_call();
  CallRecord record;
  const TimePoint start = clock_.now();
  const Deadline deadline = deadline_for(spec, bindings.run, start);
  auto done = [&](Result<ModelReply> result) {
    return finish(spec, bindings, record, start, std::move(result));
  };
  while (true) {
    if (is_cancelled(bindings.run)) {
      return done(make_error(ErrorCode::kCancelled, "run cancelled"));
    }
    if (deadline.left(clock_.now()) <= Millis(0))
      return done(deadline_error(spec, deadline, record));
    if (auto waited = wait_for_rate(lane, spec, bindings, deadline, record); !waited.ok()) {
      return done(waited.error());
    }
    if (!lane.acquire(bindings.run)) {
      return done(make_error(ErrorCode::kCancelled, "run cancelled"));
    }
    AttemptOutcome outcome =
        attempt(std::min(spec.retry.attempt_timeout, deadline.left(clock_.now())));
    lane.release();
    ++record.attempts;
    if (outcome.reply.ok()) {
      const ModelReply& reply = *outcome.reply;
      lane.give_back(0, spec.estimated_tokens - reply.tokens_in - reply.tokens_out, clock_.now());
      return done(std::move(outcome.reply));
    }
    // A failed attempt is not charged against the token budget; its retry takes it again.
    lane.give_back(0, spec.estimated_tokens, clock_.now());
    record.failures.push_back(outcome.reply.error().message);
    if (outcome.reply.error().code != ErrorCode::kModelTransient) {
      return done(outcome.reply.error());
    }
    auto delay = retry_delay(spec, outcome, record);
    if (!delay.ok()) return done(delay.error());
    if (*delay > deadline.left(clock_.now())) return done(deadline_error(spec, deadline, record));
    spdlog::info("{}: attempt {} failed ({}); retrying in {} ms", spec.description,
                 record.attempts, outcome.reply.error().message, delay->count());
    clock_.sleep_for(*delay, bindings.run.cancelled);
    ++record.retries;
  }
}

double estimate_request_tokens(const ModelRequest& request) {
  std::size_t characters = 0;
  for (const auto& message : request.messages) {
    characters += message.content.size();
    for (const auto& call : message.tool_calls) {
      characters += call.name.size() + call.arguments.size();
    }
  }
  // Offered tools are sent with every request and billed as prompt tokens.
  if (!request.tools.definitions.empty()) characters += to_json(request.tools).dump().size();
  return static_cast<double>(characters) / 4.0 + request.sampling.max_tokens;
}

}  // namespace fapo
