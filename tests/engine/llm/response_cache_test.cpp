#include "engine/llm/response_cache.h"

#include <doctest/doctest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "tests/test_support.h"

namespace fapo {
namespace {

// Answers with the call number, so a reply shows which call produced it.
class CountingClient : public ModelClient {
 public:
  Result<ModelReply> complete(const ModelRequest& request, const CallContext&) override {
    int call = ++calls;
    if (fail_next.exchange(false)) return make_error(ErrorCode::kModelTransient, "HTTP 500");
    if (delay_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
    ModelReply reply;
    reply.text = "reply " + std::to_string(call) + " to " + request.messages.back().content;
    reply.tokens_in = 10;
    reply.tokens_out = 3;
    reply.latency_ms = 1234.5;
    return reply;
  }
  std::string provider() const override { return "openai"; }

  std::atomic<int> calls{0};
  std::atomic<bool> fail_next{false};
  int delay_ms = 0;
};

Case case_named(const std::string& id) {
  Case record;
  record.case_id = id;
  return record;
}

ModelRequest request_for(const std::string& text, int sample_index = 0) {
  ModelRequest request;
  request.model = "gpt-test";
  request.messages = {{"system", "Be brief."}, {"user", text}};
  request.sampling.temperature = 1.0;
  request.sample_index = sample_index;
  return request;
}

struct CacheFixture {
  CacheFixture() {
    auto opened = ResponseCache::open(dir.path() / "cache" / "replies.sqlite");
    REQUIRE_MESSAGE(opened.ok(), (opened.ok() ? "" : opened.error().message));
    cache = std::move(*opened);
  }

  CachingClient caching(CacheMode mode, bool key_by_case = false) {
    auto inner = std::make_unique<CountingClient>();
    counter = inner.get();
    return CachingClient(std::move(inner), cache.get(),
                         CachingClient::Options{mode, "http://127.0.0.1:1/v1", key_by_case});
  }

  testing::TempDir dir;
  std::unique_ptr<ResponseCache> cache;
  CountingClient* counter = nullptr;
};

}  // namespace

TEST_CASE("answers a repeated request from the cache, marked cached, with the original latency") {
  CacheFixture fixture;
  CachingClient client = fixture.caching(CacheMode::kNormal);
  auto first = client.complete(request_for("q"), {});
  REQUIRE(first.ok());
  CHECK_FALSE(first->cached);
  auto second = client.complete(request_for("q"), {});
  REQUIRE(second.ok());
  CHECK(second->cached);
  CHECK(second->text == first->text);
  CHECK(second->tokens_in == 10);
  CHECK(second->latency_ms == doctest::Approx(1234.5));
  CHECK(fixture.counter->calls == 1);
  CHECK(client.stats().hits == 1);
  CHECK(client.stats().misses == 1);
  CHECK(client.provider() == "openai");
}

TEST_CASE("a different sample index, seed, temperature or message is a different entry") {
  CacheFixture fixture;
  CachingClient client = fixture.caching(CacheMode::kNormal);
  ModelRequest base = request_for("q");
  ModelRequest sample = request_for("q", 1);
  ModelRequest seeded = base;
  seeded.sampling.seed = 5;
  ModelRequest cooler = base;
  cooler.sampling.temperature = 0.5;
  ModelRequest other = request_for("q?");
  for (const auto& request : {base, sample, seeded, cooler, other}) {
    auto reply = client.complete(request, {});
    REQUIRE(reply.ok());
    CHECK_FALSE(reply->cached);
  }
  CHECK(fixture.counter->calls == 5);
  CHECK(*fixture.cache->size() == 5);
}

TEST_CASE("the key covers provider, base URL, model, every sampling setting and the tools") {
  ModelRequest request = request_for("q");
  CacheKeyScope scope{"openai", "https://api.openai.com/v1", ""};
  const std::string key = cache_key(scope, request);
  CHECK(key.size() == 64);
  CHECK(cache_key(scope, request) == key);
  auto differs = [&](auto change) {
    ModelRequest changed = request;
    CacheKeyScope changed_scope = scope;
    change(changed, changed_scope);
    return cache_key(changed_scope, changed) != key;
  };
  CHECK(differs([](ModelRequest&, CacheKeyScope& s) { s.provider = "anthropic"; }));
  CHECK(differs([](ModelRequest&, CacheKeyScope& s) { s.base_url = "http://x"; }));
  CHECK(differs([](ModelRequest& r, CacheKeyScope&) { r.model = "other"; }));
  CHECK(differs([](ModelRequest& r, CacheKeyScope&) { r.sampling.top_p = 0.5; }));
  CHECK(differs([](ModelRequest& r, CacheKeyScope&) { r.sampling.max_tokens = 7; }));
  CHECK(differs([](ModelRequest& r, CacheKeyScope&) { r.messages[0].role = "user"; }));
  CHECK(differs([](ModelRequest& r, CacheKeyScope&) { r.tools.definitions.resize(1); }));
  CHECK(differs([](ModelRequest& r, CacheKeyScope&) { r.tools.tool_choice = "auto"; }));
  CHECK(differs([](ModelRequest& r, CacheKeyScope&) {
    r.tools.definitions = {{"search", "", {{"type", "object"}}}};
  }));
  CHECK(differs([](ModelRequest& r, CacheKeyScope&) {
    r.messages[1].tool_calls = {{"call_1", "search", "{}"}};
  }));
  CHECK(differs([](ModelRequest& r, CacheKeyScope&) { r.messages[1].tool_call_id = "call_1"; }));
  CHECK(differs([](ModelRequest&, CacheKeyScope& s) { s.case_id = "q1"; }));
}

TEST_CASE("requests that differ only in a tool result or a call's arguments have separate keys") {
  CacheKeyScope scope{"openai", "https://api.openai.com/v1", ""};
  ModelRequest request = request_for("Who was Ada?");
  request.tools.definitions = {{"search", "Searches", {{"type", "object"}}}};
  request.tools.tool_choice = "auto";
  request.messages.push_back({"assistant", "", {{"call_1", "search", R"({"q":"Ada"})"}}});
  request.messages.push_back({"tool", "Ada Lovelace.", {}, "call_1"});
  ModelRequest other_result = request;
  other_result.messages.back().content = "Ada Byron.";
  ModelRequest other_arguments = request;
  other_arguments.messages[2].tool_calls[0].arguments = R"({"q":"Lovelace"})";
  ModelRequest other_description = request;
  other_description.tools.definitions[0].description = "Searches the web";
  const std::string key = cache_key(scope, request);
  CHECK(cache_key(scope, other_result) != key);
  CHECK(cache_key(scope, other_arguments) != key);
  CHECK(cache_key(scope, other_description) != key);
  CHECK(cache_key(scope, request) == key);
}

TEST_CASE("a plain request's key material has no tool fields, so its key is unchanged") {
  auto material = cache_key_material({"openai", "", ""}, request_for("q"));
  CHECK_FALSE(material.contains("tools"));
  for (const auto& message : material["messages"]) {
    CHECK(message.size() == 2);  // role and content only
  }
}

TEST_CASE("a cached reply keeps the tool calls the model made") {
  CacheFixture fixture;
  ModelReply reply;
  reply.text = "";
  reply.finish_reason = "tool_calls";
  reply.tool_calls = {{"call_1", "search", R"({"q":"Ada"})"}, {"call_2", "fetch", "not json"}};
  REQUIRE(fixture.cache->store("tool-key", reply).ok());
  auto stored = fixture.cache->lookup("tool-key");
  REQUIRE(stored.ok());
  REQUIRE(stored->has_value());
  const ModelReply& loaded = **stored;
  CHECK(loaded.cached);
  CHECK(loaded.finish_reason == "tool_calls");
  REQUIRE(loaded.tool_calls.size() == 2);
  CHECK(loaded.tool_calls[0].id == "call_1");
  CHECK(loaded.tool_calls[0].arguments == R"({"q":"Ada"})");
  CHECK(loaded.tool_calls[1].name == "fetch");
  CHECK(loaded.tool_calls[1].arguments == "not json");
  CHECK(reply_to_json(ModelReply{}).contains("tool_calls") == false);
  auto damaged = reply_from_json({{"text", ""}, {"tool_calls", {{{"id", "c"}}}}});
  REQUIRE_FALSE(damaged.ok());
  CHECK(damaged.error().code == ErrorCode::kIo);
  CHECK(damaged.error().message.find("stored reply is damaged") != std::string::npos);
}

TEST_CASE("keys simulated replies by case when asked, since they depend on the expected answer") {
  CacheFixture fixture;
  CachingClient client = fixture.caching(CacheMode::kNormal, /*key_by_case=*/true);
  Case first = case_named("case-1");
  Case second = case_named("case-2");
  REQUIRE(client.complete(request_for("same prompt"), {&first, "answer", 0}).ok());
  REQUIRE(client.complete(request_for("same prompt"), {&second, "answer", 0}).ok());
  REQUIRE(client.complete(request_for("same prompt"), {&first, "answer", 0}).ok());
  CHECK(fixture.counter->calls == 2);
}

TEST_CASE("replay-only mode reports a miss naming the step, case and sample, and never calls") {
  CacheFixture fixture;
  CachingClient client = fixture.caching(CacheMode::kReplayOnly);
  Case record = case_named("q0007");
  auto reply = client.complete(request_for("q", 2), {&record, "answer", 0});
  REQUIRE_FALSE(reply.ok());
  CHECK(reply.error().code == ErrorCode::kModelPermanent);
  CHECK(reply.error().message.find(
            "cache miss in replay-only mode for step 'answer', case 'q0007', sample 2") == 0);
  CHECK(fixture.counter->calls == 0);
}

TEST_CASE("replay-only mode serves what an earlier run stored") {
  CacheFixture fixture;
  {
    CachingClient recording = fixture.caching(CacheMode::kNormal);
    REQUIRE(recording.complete(request_for("q"), {}).ok());
  }
  CachingClient replaying = fixture.caching(CacheMode::kReplayOnly);
  auto reply = replaying.complete(request_for("q"), {});
  REQUIRE(reply.ok());
  CHECK(reply->cached);
  CHECK(reply->text == "reply 1 to q");
  CHECK(fixture.counter->calls == 0);
}

TEST_CASE("disabled mode neither reads nor writes the cache") {
  CacheFixture fixture;
  CachingClient client = fixture.caching(CacheMode::kDisabled);
  REQUIRE(client.complete(request_for("q"), {}).ok());
  auto again = client.complete(request_for("q"), {});
  REQUIRE(again.ok());
  CHECK_FALSE(again->cached);
  CHECK(fixture.counter->calls == 2);
  CHECK(*fixture.cache->size() == 0);
}

TEST_CASE("does not store failed calls") {
  CacheFixture fixture;
  CachingClient client = fixture.caching(CacheMode::kNormal);
  fixture.counter->fail_next = true;
  auto failed = client.complete(request_for("q"), {});
  REQUIRE_FALSE(failed.ok());
  CHECK(failed.error().code == ErrorCode::kModelTransient);
  auto retried = client.complete(request_for("q"), {});
  REQUIRE(retried.ok());
  CHECK_FALSE(retried->cached);
  CHECK(fixture.counter->calls == 2);
}

TEST_CASE("identical concurrent requests make a single inner call") {
  CacheFixture fixture;
  CachingClient client = fixture.caching(CacheMode::kNormal);
  fixture.counter->delay_ms = 50;
  std::vector<std::thread> threads;
  std::atomic<int> cached{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      auto reply = client.complete(request_for("shared"), {});
      REQUIRE(reply.ok());
      CHECK(reply->text == "reply 1 to shared");
      if (reply->cached) ++cached;
    });
  }
  for (auto& thread : threads) thread.join();
  CHECK(fixture.counter->calls == 1);
  CHECK(cached == 7);
}

TEST_CASE("eight threads with their own connections store every reply without losing one") {
  testing::TempDir dir;
  const auto path = dir.path() / "replies.sqlite";
  constexpr int kThreads = 8;
  constexpr int kPerThread = 100;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      // Separate connections contend for the database as separate processes would.
      auto cache = ResponseCache::open(path);
      REQUIRE(cache.ok());
      for (int i = 0; i < kPerThread; ++i) {
        ModelReply reply;
        reply.text = std::to_string(t) + "/" + std::to_string(i);
        auto stored = (*cache)->store("key-" + reply.text, reply);
        REQUIRE_MESSAGE(stored.ok(), (stored.ok() ? "" : stored.error().message));
      }
    });
  }
  for (auto& thread : threads) thread.join();
  auto cache = ResponseCache::open(path);
  REQUIRE(cache.ok());
  CHECK(*(*cache)->size() == kThreads * kPerThread);
  auto found = (*cache)->lookup("key-7/99");
  REQUIRE(found.ok());
  REQUIRE(found->has_value());
  CHECK((*found)->text == "7/99");
  CHECK((*found)->cached);
}

TEST_CASE("keeps the first reply stored for a key") {
  CacheFixture fixture;
  ModelReply first;
  first.text = "first";
  ModelReply second;
  second.text = "second";
  REQUIRE(fixture.cache->store("k", first).ok());
  REQUIRE(fixture.cache->store("k", second).ok());
  CHECK((*fixture.cache->lookup("k"))->text == "first");
}

TEST_CASE("reports a cache it cannot open with the path") {
  testing::TempDir dir;
  testing::write_text(dir.path() / "file", "x");
  auto opened = ResponseCache::open(dir.path() / "file" / "replies.sqlite");
  REQUIRE_FALSE(opened.ok());
  CHECK(opened.error().code == ErrorCode::kIo);
  CHECK(opened.error().message.find("replies.sqlite") != std::string::npos);
}

}  // namespace fapo
