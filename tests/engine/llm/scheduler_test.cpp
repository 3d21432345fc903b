#include "engine/llm/scheduler.h"

#include <doctest/doctest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace fapo {
namespace {

CallSpec spec_named(const std::string& lane) {
  CallSpec spec;
  spec.lane = lane;
  spec.description = "test model";
  spec.retry.retries = 4;
  spec.prices = Prices{2.0, 8.0};
  return spec;
}

ModelReply reply_with_tokens(int in, int out) {
  ModelReply reply;
  reply.text = "ok";
  reply.tokens_in = in;
  reply.tokens_out = out;
  return reply;
}

AttemptOutcome transient(std::optional<Millis> retry_after = std::nullopt) {
  return {make_error(ErrorCode::kModelTransient, "server error (HTTP 500)"), retry_after};
}

// Fails the first `failures` attempts transiently, then answers.
struct FlakyAttempt {
  int failures;
  int calls = 0;
  AttemptOutcome operator()(Millis) {
    ++calls;
    if (calls <= failures) return transient();
    return {reply_with_tokens(100, 50), std::nullopt};
  }
};

SchedulerOptions seeded() {
  SchedulerOptions options;
  options.jitter_seed = 7;
  return options;
}

}  // namespace

TEST_CASE("retries transient failures with full-jitter backoff that doubles its ceiling") {
  ManualClock clock;
  Scheduler scheduler(seeded(), clock);
  FlakyAttempt attempt{3};
  CallRecord record;
  CallBindings bindings;
  bindings.on_call = [&](const CallRecord& r) { record = r; };
  auto reply = scheduler.call(spec_named("a"), bindings, std::ref(attempt));
  REQUIRE(reply.ok());
  CHECK(attempt.calls == 4);
  CHECK(record.attempts == 4);
  CHECK(record.retries == 3);
  CHECK(record.failures.size() == 3);
  auto sleeps = clock.sleeps();
  REQUIRE(sleeps.size() == 3);
  for (std::size_t i = 0; i < sleeps.size(); ++i) {
    CHECK(sleeps[i] >= Millis(0));
    CHECK(sleeps[i] <= Millis(500 << i));  // base 500 ms, doubling
  }
  CHECK(record.latency_ms == doctest::Approx(clock.total_slept().count()));
}

TEST_CASE("does not retry a permanent error and reports it unchanged") {
  ManualClock clock;
  Scheduler scheduler(seeded(), clock);
  int calls = 0;
  auto reply = scheduler.call(spec_named("a"), {}, [&](Millis) {
    ++calls;
    return AttemptOutcome{make_error(ErrorCode::kModelPermanent, "invalid API key for x"), {}};
  });
  REQUIRE_FALSE(reply.ok());
  CHECK(reply.error().code == ErrorCode::kModelPermanent);
  CHECK(reply.error().message == "invalid API key for x");
  CHECK(calls == 1);
  CHECK(clock.sleeps().empty());
}

TEST_CASE("gives up with kModelTransient after the retry budget, naming the last failure") {
  ManualClock clock;
  Scheduler scheduler(seeded(), clock);
  CallSpec spec = spec_named("a");
  spec.retry.retries = 2;
  FlakyAttempt attempt{100};
  auto reply = scheduler.call(spec, {}, std::ref(attempt));
  REQUIRE_FALSE(reply.ok());
  CHECK(reply.error().code == ErrorCode::kModelTransient);
  CHECK(reply.error().message.find("failed after 3 attempt(s)") != std::string::npos);
  CHECK(reply.error().message.find("HTTP 500") != std::string::npos);
  CHECK(attempt.calls == 3);
}

TEST_CASE("waits at least as long as Retry-After asks") {
  ManualClock clock;
  Scheduler scheduler(seeded(), clock);
  int calls = 0;
  auto reply = scheduler.call(spec_named("a"), {}, [&](Millis) {
    return ++calls == 1 ? transient(Millis(7000)) : AttemptOutcome{reply_with_tokens(1, 1), {}};
  });
  REQUIRE(reply.ok());
  REQUIRE(clock.sleeps().size() == 1);
  CHECK(clock.sleeps()[0] >= Millis(7000));
}

TEST_CASE("ends the call instead of waiting when Retry-After exceeds the configured maximum") {
  ManualClock clock;
  SchedulerOptions options = seeded();
  options.max_retry_after = Millis(60000);
  Scheduler scheduler(options, clock);
  auto reply =
      scheduler.call(spec_named("a"), {}, [&](Millis) { return transient(Millis(3600000)); });
  REQUIRE_FALSE(reply.ok());
  CHECK(reply.error().code == ErrorCode::kModelTransient);
  CHECK(reply.error().message.find("asked to wait 3600000 ms (Retry-After)") != std::string::npos);
  CHECK(clock.sleeps().empty());
}

TEST_CASE("stops between attempts once the run is cancelled") {
  ManualClock clock;
  Scheduler scheduler(seeded(), clock);
  std::atomic<bool> cancelled{false};
  CallBindings bindings;
  bindings.run.cancelled = &cancelled;
  int calls = 0;
  auto reply = scheduler.call(spec_named("a"), bindings, [&](Millis) {
    ++calls;
    cancelled = true;
    return transient();
  });
  REQUIRE_FALSE(reply.ok());
  CHECK(reply.error().code == ErrorCode::kCancelled);
  CHECK(calls == 1);
}

TEST_CASE("a per-call deadline ends retries with a transient error naming the deadline") {
  ManualClock clock;
  Scheduler scheduler(seeded(), clock);
  CallSpec spec = spec_named("a");
  spec.retry.call_deadline = Millis(5000);
  std::vector<Millis> timeouts;
  int calls = 0;
  auto reply = scheduler.call(spec, {}, [&](Millis timeout) {
    timeouts.push_back(timeout);
    ++calls;
    return transient(Millis(3000));
  });
  REQUIRE_FALSE(reply.ok());
  CHECK(reply.error().code == ErrorCode::kModelTransient);
  CHECK(reply.error().message.find("call deadline of 5000 ms") != std::string::npos);
  CHECK(calls == 2);  // 0 s and 3 s; a third attempt would start after 6 s
  REQUIRE(timeouts.size() == 2);
  CHECK(timeouts[0] == Millis(5000));  // the attempt timeout never outlives the deadline
  CHECK(timeouts[1] <= Millis(2000));
}

TEST_CASE("a passed run deadline stops the call as cancelled") {
  ManualClock clock;
  Scheduler scheduler(seeded(), clock);
  CallBindings bindings;
  bindings.run.deadline = clock.now() + Millis(1000);
  clock.advance(Millis(1500));
  int calls = 0;
  auto reply = scheduler.call(spec_named("a"), bindings, [&](Millis) {
    ++calls;
    return AttemptOutcome{reply_with_tokens(1, 1), {}};
  });
  REQUIRE_FALSE(reply.ok());
  CHECK(reply.error().code == ErrorCode::kCancelled);
  CHECK(reply.error().message.find("run deadline") != std::string::npos);
  CHECK(calls == 0);
}

TEST_CASE("a token bucket allows a burst of a tenth of a minute, then one unit per period") {
  Clock::TimePoint start{};
  TokenBucket bucket(60, start);  // one a second, burst 6
  for (int i = 0; i < 6; ++i) CHECK(bucket.take(1, start) == Millis(0));
  CHECK(bucket.take(1, start) == Millis(1000));
  CHECK(bucket.take(1, start) == Millis(2000));
  // Ten seconds later the debt of two is repaid and the bucket is full again (capacity 6).
  Clock::TimePoint later = start + std::chrono::seconds(10);
  for (int i = 0; i < 6; ++i) CHECK(bucket.take(1, later) == Millis(0));
  CHECK(bucket.take(1, later) == Millis(1000));
}

TEST_CASE("a token bucket takes back what an estimate overcharged") {
  Clock::TimePoint start{};
  TokenBucket bucket(6000, start);  // 100 a second, burst 600
  CHECK(bucket.take(600, start) == Millis(0));
  CHECK(bucket.take(100, start) == Millis(1000));
  bucket.give_back(100, start);
  CHECK(bucket.take(100, start) == Millis(1000));
}

TEST_CASE("requests per minute space calls out through the clock, not real sleeps") {
  ManualClock clock;
  Scheduler scheduler(seeded(), clock);
  CallSpec spec = spec_named("rpm");
  spec.limits.requests_per_minute = 60;
  for (int i = 0; i < 9; ++i) {
    REQUIRE(scheduler.call(spec, {}, [&](Millis) {
      return AttemptOutcome{reply_with_tokens(1, 1), {}};
    }).ok());
  }
  // Six go at once; each later call waits for one more second of allowance.
  auto sleeps = clock.sleeps();
  REQUIRE(sleeps.size() == 3);
  for (auto sleep : sleeps) CHECK(sleep == Millis(1000));
  CHECK(scheduler.lane_stats("rpm").calls == 9);
}

TEST_CASE("tokens per minute charge the prompt estimate plus max_tokens") {
  ManualClock clock;
  Scheduler scheduler(seeded(), clock);
  CallSpec spec = spec_named("tpm");
  spec.limits.tokens_per_minute = 60000;  // 1,000 a second, burst 6,000
  spec.estimated_tokens = 3000;
  auto answer = [&](Millis) { return AttemptOutcome{reply_with_tokens(2000, 1000), {}}; };
  REQUIRE(scheduler.call(spec, {}, answer).ok());
  REQUIRE(scheduler.call(spec, {}, answer).ok());
  CHECK(clock.sleeps().empty());
  REQUIRE(scheduler.call(spec, {}, answer).ok());
  REQUIRE(clock.sleeps().size() == 1);
  CHECK(clock.sleeps()[0] == Millis(3000));
}

TEST_CASE("never runs more attempts of a lane at once than its concurrency") {
  Scheduler scheduler(seeded());
  CallSpec spec = spec_named("concurrency");
  spec.limits.concurrency = 3;
  std::atomic<int> running{0};
  std::atomic<int> peak{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 12; ++t) {
    threads.emplace_back([&] {
      auto reply = scheduler.call(spec, {}, [&](Millis) {
        int now = ++running;
        int seen = peak.load();
        while (now > seen && !peak.compare_exchange_weak(seen, now)) {
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
        --running;
        return AttemptOutcome{reply_with_tokens(1, 1), {}};
      });
      CHECK(reply.ok());
    });
  }
  for (auto& thread : threads) thread.join();
  CHECK(peak.load() <= 3);
  CHECK(scheduler.lane_stats("concurrency").peak_in_flight <= 3);
  CHECK(scheduler.lane_stats("concurrency").calls == 12);
}

TEST_CASE("records tokens and cost per call and adds them to the role's totals") {
  ManualClock clock;
  Scheduler scheduler(seeded(), clock);
  CostLedger ledger;
  CallBindings bindings;
  bindings.ledger = &ledger;
  bindings.role = CostRole::kJudge;
  CallRecord record;
  bindings.on_call = [&](const CallRecord& r) { record = r; };
  FlakyAttempt attempt{1};
  REQUIRE(scheduler.call(spec_named("cost"), bindings, std::ref(attempt)).ok());
  CHECK(record.tokens_in == 100);
  CHECK(record.tokens_out == 50);
  CHECK(record.cost == doctest::Approx((100 * 2.0 + 50 * 8.0) / 1e6));
  CostTotals judge = ledger.totals(CostRole::kJudge);
  CHECK(judge.calls == 1);
  CHECK(judge.attempts == 2);
  CHECK(judge.tokens_in == 100);
  CHECK(ledger.totals(CostRole::kTask).calls == 0);
  CHECK(ledger.to_json()["total"]["cost"].get<double>() == doctest::Approx(record.cost));
}

TEST_CASE("estimates a request's tokens from its characters and max_tokens") {
  ModelRequest request;
  request.messages = {{"system", std::string(400, 'a')}, {"user", std::string(400, 'b')}};
  request.sampling.max_tokens = 50;
  CHECK(estimate_request_tokens(request) == doctest::Approx(250));
}

}  // namespace fapo
