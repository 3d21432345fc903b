#include "engine/llm/metered_client.h"

#include <doctest/doctest.h>

#include "engine/llm/process_scheduler.h"
#include "tests/engine/llm/endpoint_fixture.h"

namespace fapo {
namespace {

// Replies "ok" with fixed token counts; a prompt "fail" fails, a prompt "cached" comes back
// marked as a cache hit.
class FixedClient : public ModelClient {
 public:
  Result<ModelReply> complete(const ModelRequest& request, const CallContext&) override {
    const std::string& text = request.messages.back().content;
    if (text == "fail") return make_error(ErrorCode::kModelTransient, "server error");
    ModelReply reply;
    reply.text = "ok";
    reply.tokens_in = 1000;
    reply.tokens_out = 500;
    reply.cached = text == "cached";
    return reply;
  }
  std::string provider() const override { return "openai"; }
};

ModelRequest request_with(const std::string& text) {
  ModelRequest request;
  request.messages = {{"user", text}};
  return request;
}

TEST_CASE("meters calls, cache hits and failures per case and trial, with their cost") {
  MeteredClient metered(std::make_shared<FixedClient>(), CostRole::kTask, Prices{2.0, 10.0});
  Case first;
  first.case_id = "c1";
  Case second;
  second.case_id = "c2";
  CHECK(metered.complete(request_with("hello"), {&first, "s", 0}).ok());
  CHECK(metered.complete(request_with("cached"), {&first, "s", 0}).ok());
  CHECK_FALSE(metered.complete(request_with("fail"), {&first, "s", 0}).ok());
  CHECK(metered.complete(request_with("hello"), {&first, "s", 1}).ok());
  CHECK(metered.complete(request_with("hello"), {&second, "s", 0}).ok());

  CostTotals c1 = metered.take("c1", 0);
  CHECK(c1.calls == 1);
  CHECK(c1.cached == 1);
  CHECK(c1.failed == 1);
  CHECK(c1.attempts == 1);  // a client without a scheduler: one attempt per call it made
  CHECK(c1.tokens_in == 1000);  // the cached reply's tokens were not charged
  CHECK(c1.tokens_out == 500);
  CHECK(c1.cost == doctest::Approx((1000 * 2.0 + 500 * 10.0) / 1e6));
  CHECK(metered.take("c1", 0).calls == 0);  // taken once
  CHECK(metered.take("c1", 1).calls == 1);
  CHECK(metered.total().calls == 3);
  CHECK(metered.total().cached == 1);
  CHECK(metered.role() == CostRole::kTask);
}

TEST_CASE("credits the scheduler's attempts to the metered call on the same thread") {
  testing::EndpointFixture fixture;
  CallBindings bindings;
  bindings.on_call = note_call_attempts;
  std::shared_ptr<ModelClient> http = fixture.client(fixture.openai_config(), bindings);
  MeteredClient metered(http, CostRole::kJudge, Prices{});
  fixture.endpoint->push_faults({bench::FaultSpec{bench::Fault::kServerError}});
  Case item;
  item.case_id = "c1";
  auto reply = metered.complete(testing::user_request("hi"), {&item, "s", 0});
  REQUIRE(reply.ok());
  CostTotals totals = metered.take("c1", 0);
  CHECK(totals.calls == 1);
  CHECK(totals.attempts == 2);
  // Outside a metered call the hook has nothing to credit.
  CHECK(fixture.client(fixture.openai_config(), bindings)
            ->complete(testing::user_request("again"), {})
            .ok());
  CHECK(metered.total().attempts == 2);
}

TEST_CASE("an installed process scheduler is used until its scope ends") {
  Scheduler& shared = process_scheduler();
  CHECK(&process_scheduler() == &shared);
  {
    ManualClock clock;
    Scheduler mine(SchedulerOptions{}, clock);
    ScopedProcessScheduler installed(mine);
    CHECK(&process_scheduler() == &mine);
  }
  CHECK(&process_scheduler() == &shared);
}

}  // namespace
}  // namespace fapo
