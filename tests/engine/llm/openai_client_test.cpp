#include "engine/llm/openai_client.h"

#include <doctest/doctest.h>

#include <cstdlib>
#include <ctime>
#include <thread>
#include <vector>

#include "tests/engine/llm/endpoint_fixture.h"

namespace fapo {
namespace {

using bench::Fault;
using bench::FaultSpec;
using testing::contains;
using testing::EndpointFixture;
using testing::user_request;

FaultSpec fault(Fault kind) {
  FaultSpec spec;
  spec.kind = kind;
  spec.hang_ms = 5000;
  spec.drip_interval_ms = 200;  // about 20 pieces: 4 s for a whole reply
  return spec;
}

}  // namespace

TEST_CASE("sends a chat completion and parses text, usage and finish reason") {
  EndpointFixture fixture;
  auto client = fixture.client(fixture.openai_config());
  auto reply = client->complete(user_request("What is the capital of France?"), {});
  REQUIRE(reply.ok());
  CHECK(reply->text == "echo: What is the capital of France?");
  CHECK(reply->finish_reason == "stop");
  CHECK(reply->tokens_in == 8);  // words of both messages
  CHECK(reply->tokens_out == 7);
  CHECK_FALSE(reply->cached);
  CHECK(client->provider() == "openai");
}

TEST_CASE("sends temperature, top_p, max_tokens and seed for a regular model") {
  EndpointFixture fixture;
  auto client = fixture.client(fixture.openai_config());
  ModelRequest request = user_request("hi");
  request.sampling.seed = 42;
  REQUIRE(client->complete(request, {}).ok());
  auto body = fixture.endpoint->last_request()->body;
  CHECK(body["model"] == "test-model");
  CHECK(body["temperature"] == 0.7);
  CHECK(body["top_p"] == 0.9);
  CHECK(body["max_tokens"] == 64);
  CHECK(body["seed"] == 42);
  CHECK_FALSE(body.contains("max_completion_tokens"));
  CHECK(body["messages"][0]["role"] == "system");
}

TEST_CASE("uses the reasoning shape for o3: no sampling, max_completion_tokens, developer role") {
  EndpointFixture fixture;
  ProviderConfig config = fixture.openai_config();
  config.model = "o3-mini";
  auto client = fixture.client(config);
  REQUIRE(client->complete(user_request("hi"), {}).ok());
  auto body = fixture.endpoint->last_request()->body;
  CHECK(body["model"] == "o3-mini");
  CHECK_FALSE(body.contains("temperature"));
  CHECK_FALSE(body.contains("top_p"));
  CHECK_FALSE(body.contains("max_tokens"));
  CHECK(body["max_completion_tokens"] == 64);
  CHECK(body["messages"][0]["role"] == "developer");
  CHECK(body["messages"][1]["role"] == "user");
}

TEST_CASE("retries a 429 after Retry-After, then succeeds") {
  EndpointFixture fixture;
  FaultSpec limited = fault(Fault::kRateLimit);
  limited.retry_after = "3";
  fixture.endpoint->push_faults({limited});
  CallRecord record;
  CallBindings bindings;
  bindings.on_call = [&](const CallRecord& r) { record = r; };
  auto client = fixture.client(fixture.openai_config(), bindings);
  auto reply = client->complete(user_request("hi"), {});
  REQUIRE(reply.ok());
  CHECK(fixture.endpoint->requests() == 2);
  CHECK(record.retries == 1);
  REQUIRE(fixture.clock.sleeps().size() == 1);
  CHECK(fixture.clock.sleeps()[0] >= Millis(3000));
  CHECK(contains(record.failures[0], "rate limited"));
}

TEST_CASE("honours a Retry-After given as an HTTP date") {
  EndpointFixture fixture;
  std::time_t later = std::time(nullptr) + 20;
  char date[64];
  std::tm parts{};
  gmtime_r(&later, &parts);
  std::strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &parts);
  FaultSpec limited = fault(Fault::kRateLimit);
  limited.retry_after = date;
  fixture.endpoint->push_faults({limited});
  auto client = fixture.client(fixture.openai_config());
  REQUIRE(client->complete(user_request("hi"), {}).ok());
  REQUIRE(fixture.clock.sleeps().size() == 1);
  CHECK(fixture.clock.sleeps()[0] >= Millis(18000));
}

TEST_CASE("retries each transient fault once and then succeeds") {
  struct Case {
    const char* name;
    Fault kind;
    double timeout_s;  // short only where the fault outlasts it: the hang and the drip
  };
  for (Case c : {Case{"500", Fault::kServerError, 10}, Case{"malformed", Fault::kMalformedJson, 10},
                 Case{"truncated", Fault::kTruncatedBody, 10}, Case{"hang", Fault::kHang, 1},
                 Case{"slow stream", Fault::kSlowStream, 1}}) {
    CAPTURE(c.name);
    EndpointFixture fixture;
    ProviderConfig config = fixture.openai_config();
    config.timeout_s = c.timeout_s;
    fixture.endpoint->push_faults({fault(c.kind)});
    CallRecord record;
    CallBindings bindings;
    bindings.on_call = [&](const CallRecord& r) { record = r; };
    auto client = fixture.client(config, bindings);
    auto reply = client->complete(user_request("a question long enough to drip slowly"), {});
    REQUIRE_MESSAGE(reply.ok(), (reply.ok() ? "" : reply.error().message));
    CHECK(reply->text == "echo: a question long enough to drip slowly");
    CHECK(fixture.endpoint->requests() == 2);
    CHECK(record.attempts == 2);
  }
}

TEST_CASE("describes each fault it could not get past") {
  struct Case {
    const char* marker;
    const char* fragment;
    double timeout_s;
  };
  for (Case c : {Case{"500", "server error from http://127.0.0.1", 10},
                 Case{"malformed", "malformed JSON in the reply", 10},
                 Case{"truncated", "closed before the reply was complete", 10},
                 Case{"hang", "timed out after 300 ms", 0.3},
                 Case{"slow", "timed out after 300 ms", 0.3}}) {
    CAPTURE(c.marker);
    EndpointFixture fixture;
    ProviderConfig config = fixture.openai_config();
    config.timeout_s = c.timeout_s;
    config.retries = 1;
    auto client = fixture.client(config);
    auto reply = client->complete(
        user_request(std::string("always fails [[fault:") + c.marker + "]] padding words here"),
        {});
    REQUIRE_FALSE(reply.ok());
    CHECK(reply.error().code == ErrorCode::kModelTransient);
    CHECK(contains(reply.error().message, "failed after 2 attempt(s)"));
    CHECK(contains(reply.error().message, c.fragment));
    CHECK(fixture.endpoint->requests() == 2);
  }
}

TEST_CASE("a prompt marker with a count fails only the first requests carrying it") {
  EndpointFixture fixture;
  auto client = fixture.client(fixture.openai_config());
  auto reply = client->complete(user_request("flaky [[fault:500*2]]"), {});
  REQUIRE(reply.ok());
  CHECK(fixture.endpoint->requests() == 3);
}

TEST_CASE("fails at once on a 401, naming the URL, without retrying or quoting the key") {
  bench::TestEndpointOptions options;
  options.api_key = "sk-right-key-000000";
  EndpointFixture fixture(options);
  ::setenv("FAPO_TEST_WRONG_KEY", "sk-wrong-key-123456", 1);
  ProviderConfig config = fixture.openai_config();
  config.api_key_env = "FAPO_TEST_WRONG_KEY";
  auto client = fixture.client(config);
  auto reply = client->complete(user_request("hi"), {});
  REQUIRE_FALSE(reply.ok());
  CHECK(reply.error().code == ErrorCode::kModelPermanent);
  CHECK(contains(reply.error().message,
                 "invalid API key for " + fixture.endpoint->openai_base_url() +
                     "/chat/completions (HTTP 401)"));
  CHECK(contains(reply.error().message, "task_model.api_key_env"));
  CHECK_FALSE(contains(reply.error().message, "sk-wrong-key-123456"));
  CHECK(fixture.endpoint->requests() == 1);
  CHECK(fixture.clock.sleeps().empty());
}

TEST_CASE("sends the key as a bearer token when the variable is set") {
  bench::TestEndpointOptions options;
  options.api_key = "sk-right-key-000000";
  EndpointFixture fixture(options);
  ::setenv("FAPO_TEST_RIGHT_KEY", "sk-right-key-000000", 1);
  ProviderConfig config = fixture.openai_config();
  config.api_key_env = "FAPO_TEST_RIGHT_KEY";
  auto client = fixture.client(config);
  REQUIRE(client->complete(user_request("hi"), {}).ok());
  CHECK(fixture.endpoint->last_request()->headers["authorization"] ==
        "Bearer sk-right-key-000000");
}

TEST_CASE("masks the key when a provider quotes it in an error body") {
  EndpointFixture fixture;
  ::setenv("FAPO_TEST_QUOTED_KEY", "sk-quoted-secret-987", 1);
  ProviderConfig config = fixture.openai_config();
  config.api_key_env = "FAPO_TEST_QUOTED_KEY";
  fixture.endpoint->push_faults({fault(Fault::kBadRequest)});
  auto client = fixture.client(config);
  auto reply = client->complete(user_request("hi"), {});
  REQUIRE_FALSE(reply.ok());
  CHECK(reply.error().code == ErrorCode::kModelPermanent);
  CHECK(contains(reply.error().message, "request rejected by"));
  CHECK(contains(reply.error().message, "rejected credentials Bearer ***"));
  CHECK_FALSE(contains(reply.error().message, "sk-quoted-secret-987"));
  CHECK(fixture.endpoint->requests() == 1);
}

TEST_CASE("reports a missing key variable before any call is made") {
  EndpointFixture fixture;
  ::unsetenv("FAPO_TEST_UNSET_KEY");
  ProviderConfig config = fixture.openai_config();
  config.api_key_env = "FAPO_TEST_UNSET_KEY";
  auto made = make_provider_client(config, fixture.scheduler, {});
  REQUIRE_FALSE(made.ok());
  CHECK(made.error().code == ErrorCode::kModelPermanent);
  CHECK(made.error().message ==
        "environment variable FAPO_TEST_UNSET_KEY is not set (task_model.api_key_env)");
  CHECK(fixture.endpoint->requests() == 0);
}

TEST_CASE("reports an unknown model as 'model not found' without retrying") {
  bench::TestEndpointOptions options;
  options.models = {"test-model"};
  EndpointFixture fixture(options);
  ProviderConfig config = fixture.openai_config();
  config.model = "gpt-imaginary";
  auto reply = fixture.client(config)->complete(user_request("hi"), {});
  REQUIRE_FALSE(reply.ok());
  CHECK(reply.error().code == ErrorCode::kModelPermanent);
  CHECK(contains(reply.error().message, "model not found: gpt-imaginary at http://127.0.0.1:"));
  CHECK(fixture.endpoint->requests() == 1);
}

TEST_CASE("reports a wrong base URL as 'endpoint not found'") {
  EndpointFixture fixture;
  ProviderConfig config = fixture.openai_config();
  config.base_url = fixture.endpoint->anthropic_base_url() + "/v2";
  auto reply = fixture.client(config)->complete(user_request("hi"), {});
  REQUIRE_FALSE(reply.ok());
  CHECK(reply.error().code == ErrorCode::kModelPermanent);
  CHECK(contains(reply.error().message, "endpoint not found: http://127.0.0.1:"));
  CHECK(contains(reply.error().message, "/v2/chat/completions (HTTP 404)"));
  CHECK(contains(reply.error().message, "task_model.base_url"));
}

TEST_CASE("retries a refused connection and then reports it as transient") {
  std::string base_url;
  {
    EndpointFixture closed;
    base_url = closed.endpoint->openai_base_url();
  }  // the port is free again: connections are refused
  EndpointFixture fixture;
  ProviderConfig config = fixture.openai_config();
  config.base_url = base_url;
  config.retries = 2;
  auto reply = fixture.client(config)->complete(user_request("hi"), {});
  REQUIRE_FALSE(reply.ok());
  CHECK(reply.error().code == ErrorCode::kModelTransient);
  CHECK(contains(reply.error().message, "cannot connect to http://127.0.0.1:"));
  CHECK(contains(reply.error().message, "failed after 3 attempt(s)"));
}

TEST_CASE("offers tools and returns the calls the model made") {
  bench::TestEndpointOptions options;
  options.script = [](const bench::EndpointRequest&) {
    return bench::ScriptedReply{"", {{"call_1", "search", R"({"query":"Ada"})"}}, "tool_calls"};
  };
  EndpointFixture fixture(options);
  auto client = fixture.client(fixture.openai_config());
  ModelRequest request = user_request("Who was Ada?");
  request.messages.push_back({"assistant", "", {{"call_0", "search", R"({"query":"Ada"})"}}});
  request.messages.push_back({"tool", "Ada Lovelace wrote the first program.", {}, "call_0"});
  request.tools.definitions = {
      {"search", "Searches the corpus",
       {{"type", "object"}, {"properties", {{"query", {{"type", "string"}}}}}}}};
  request.tools.tool_choice = "auto";
  auto reply = client->complete(request, {});
  REQUIRE(reply.ok());
  REQUIRE(reply->tool_calls.size() == 1);
  CHECK(reply->tool_calls[0].id == "call_1");
  CHECK(reply->tool_calls[0].name == "search");
  CHECK(reply->tool_calls[0].arguments == R"({"query":"Ada"})");
  CHECK(reply->finish_reason == "tool_calls");
  auto body = fixture.endpoint->last_request()->body;
  CHECK(body["tools"][0]["type"] == "function");
  CHECK(body["tools"][0]["function"]["name"] == "search");
  CHECK(body["tool_choice"] == "auto");
  CHECK(body["messages"][2]["content"].is_null());
  CHECK(body["messages"][2]["tool_calls"][0]["function"]["arguments"] == R"({"query":"Ada"})");
  CHECK(body["messages"][3]["role"] == "tool");
  CHECK(body["messages"][3]["tool_call_id"] == "call_0");
}

TEST_CASE("completes a tool round trip: a call, then an answer read from the tool result") {
  bench::TestEndpointOptions options;
  options.script = bench::tool_loop_script();
  EndpointFixture fixture(options);
  auto client = fixture.client(fixture.openai_config());
  ModelRequest request = user_request("Who was Ada?");
  request.tools.definitions = {{"search", "Searches the corpus", {{"type", "object"}}}};
  auto first = client->complete(request, {});
  REQUIRE(first.ok());
  CHECK(first->finish_reason == "tool_calls");
  REQUIRE(first->tool_calls.size() == 1);
  CHECK(first->tool_calls[0].name == "search");
  CHECK(nlohmann::json::parse(first->tool_calls[0].arguments)["query"] == "Who was Ada?");
  request.messages.push_back({"assistant", first->text, first->tool_calls});
  request.messages.push_back({"tool", "Ada Lovelace.", {}, first->tool_calls[0].id});
  auto second = client->complete(request, {});
  REQUIRE(second.ok());
  CHECK(second->text == "tool said: Ada Lovelace.");
  CHECK(second->finish_reason == "stop");
  CHECK(second->tool_calls.empty());
  auto body = fixture.endpoint->last_request()->body;
  CHECK(body["messages"][3]["tool_call_id"] == first->tool_calls[0].id);
}

TEST_CASE("sends no tool fields for a plain request and names a single forced tool") {
  ModelRequest request = user_request("hi");
  auto plain = openai_request_body(request, /*reasoning=*/false);
  CHECK_FALSE(plain.contains("tools"));
  CHECK_FALSE(plain.contains("tool_choice"));
  CHECK_FALSE(plain["messages"][1].contains("tool_calls"));
  CHECK_FALSE(plain["messages"][1].contains("tool_call_id"));
  request.tools.definitions = {{"search", "", {{"type", "object"}}}};
  request.tools.tool_choice = "search";
  auto forced = openai_request_body(request, /*reasoning=*/false);
  CHECK(forced["tool_choice"]["type"] == "function");
  CHECK(forced["tool_choice"]["function"]["name"] == "search");
}

TEST_CASE("reads tool calls whose arguments arrive as an object and reports them as tool_calls") {
  auto reply = parse_openai_reply(nlohmann::json::parse(R"({"choices":[{"message":{
      "content":null,"tool_calls":[{"id":"c1","type":"function",
      "function":{"name":"lookup","arguments":{"id":7}}}]},"finish_reason":"stop"}]})"));
  REQUIRE(reply.ok());
  REQUIRE(reply->tool_calls.size() == 1);
  CHECK(reply->tool_calls[0].id == "c1");
  CHECK(reply->tool_calls[0].name == "lookup");
  CHECK(reply->tool_calls[0].arguments == R"({"id":7})");
  CHECK(reply->finish_reason == "tool_calls");
}

TEST_CASE("keeps no more requests in flight than the configured concurrency") {
  bench::TestEndpointOptions options;
  options.latency = bench::Latency::fixed(20);
  EndpointFixture fixture(options);
  ProviderConfig config = fixture.openai_config();
  config.concurrency = 3;
  auto client = fixture.client(config);
  std::vector<std::thread> threads;
  for (int t = 0; t < 10; ++t) {
    threads.emplace_back([&] { CHECK(client->complete(user_request("hi"), {}).ok()); });
  }
  for (auto& thread : threads) thread.join();
  CHECK(fixture.endpoint->requests() == 10);
  CHECK(fixture.endpoint->peak_in_flight() <= 3);
}

TEST_CASE("parses a reply whose content is null or a list of text parts") {
  auto null_content = parse_openai_reply(nlohmann::json::parse(
      R"({"choices":[{"message":{"content":null},"finish_reason":"length"}]})"));
  REQUIRE(null_content.ok());
  CHECK(null_content->text.empty());
  CHECK(null_content->finish_reason == "length");
  nlohmann::json text_parts = nlohmann::json::array(
      {{{"type", "text"}, {"text", "a"}}, {{"type", "text"}, {"text", "b"}}});
  auto parts = parse_openai_reply({{"choices", {{{"message", {{"content", text_parts}}}}}}});
  REQUIRE(parts.ok());
  CHECK(parts->text == "ab");
  auto empty = parse_openai_reply(nlohmann::json::parse(R"({"choices":[]})"));
  REQUIRE_FALSE(empty.ok());
  CHECK(empty.error().code == ErrorCode::kModelTransient);
  CHECK(contains(empty.error().message, "no choices"));
}

}  // namespace fapo
