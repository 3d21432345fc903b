#include "engine/llm/anthropic_client.h"

#include <doctest/doctest.h>

#include "tests/engine/llm/endpoint_fixture.h"

namespace fapo {

using testing::contains;
using testing::EndpointFixture;
using testing::user_request;

TEST_CASE("sends a Messages API request with a top-level system prompt and version header") {
  EndpointFixture fixture;
  ::setenv("FAPO_TEST_ANTHROPIC_KEY", "sk-ant-test-111", 1);
  ProviderConfig config = fixture.anthropic_config();
  config.api_key_env = "FAPO_TEST_ANTHROPIC_KEY";
  auto client = fixture.client(config);
  ModelRequest request = user_request("What is 2+2?");
  request.messages.insert(request.messages.begin() + 1, {"system", "Use digits."});
  request.sampling.seed = 3;  // the Messages API has no seed; it must not be sent
  auto reply = client->complete(request, {});
  REQUIRE(reply.ok());
  CHECK(reply->text == "echo: What is 2+2?");
  CHECK(reply->finish_reason == "stop");
  CHECK(reply->tokens_in == 7);  // "Answer briefly." + "Use digits." + "What is 2+2?"
  CHECK(reply->tokens_out == 4);
  auto last = fixture.endpoint->last_request();
  CHECK(last->path == "/v1/messages");
  CHECK(last->headers["x-api-key"] == "sk-ant-test-111");
  CHECK(last->headers["anthropic-version"] == kAnthropicVersion);
  CHECK(last->headers.count("authorization") == 0);
  const auto& body = last->body;
  CHECK(body["model"] == "claude-test");
  CHECK(body["system"] == "Answer briefly.\n\nUse digits.");
  CHECK(body["max_tokens"] == 64);
  REQUIRE(body["messages"].size() == 1);
  CHECK(body["messages"][0]["role"] == "user");
  CHECK_FALSE(body.contains("seed"));
}

TEST_CASE("sends only the sampling setting that differs from 1.0, temperature when both do") {
  ModelRequest request = user_request("hi");
  request.model = "claude-test";
  request.sampling.temperature = 0.7;
  request.sampling.top_p = 0.9;
  auto both = anthropic_request_body(request);
  CHECK(both["temperature"] == 0.7);
  CHECK_FALSE(both.contains("top_p"));
  request.sampling.temperature = 1.0;
  auto nucleus = anthropic_request_body(request);
  CHECK_FALSE(nucleus.contains("temperature"));
  CHECK(nucleus["top_p"] == 0.9);
  request.sampling.top_p = 1.0;
  auto neither = anthropic_request_body(request);
  CHECK(neither["temperature"] == 1.0);
  CHECK_FALSE(neither.contains("top_p"));
}

TEST_CASE("translates tool definitions, tool_use turns and tool results to Messages blocks") {
  bench::TestEndpointOptions options;
  options.script = [](const bench::EndpointRequest&) {
    return bench::ScriptedReply{"Looking it up.", {{"toolu_2", "search", R"({"query":"Ada"})"}},
                                "tool_calls"};
  };
  EndpointFixture fixture(options);
  auto client = fixture.client(fixture.anthropic_config());
  ModelRequest request = user_request("Who was Ada?");
  request.messages.push_back(
      {"assistant", "Searching.", {{"toolu_1", "search", R"({"query":"Ada"})"}}});
  request.messages.push_back({"tool", "Ada Lovelace wrote the first program.", {}, "toolu_1"});
  request.tools.definitions = {{"search", "Searches the corpus", {{"type", "object"}}}};
  request.tools.tool_choice = "required";
  auto reply = client->complete(request, {});
  REQUIRE(reply.ok());
  CHECK(reply->text == "Looking it up.");
  CHECK(reply->finish_reason == "tool_calls");
  REQUIRE(reply->tool_calls.size() == 1);
  CHECK(reply->tool_calls[0].id == "toolu_2");
  CHECK(nlohmann::json::parse(reply->tool_calls[0].arguments)["query"] == "Ada");
  auto body = fixture.endpoint->last_request()->body;
  CHECK(body["tools"][0]["input_schema"]["type"] == "object");
  CHECK(body["tool_choice"]["type"] == "any");
  const auto& assistant = body["messages"][1];
  CHECK(assistant["content"][0]["text"] == "Searching.");
  CHECK(assistant["content"][1]["type"] == "tool_use");
  CHECK(assistant["content"][1]["input"]["query"] == "Ada");
  const auto& result = body["messages"][2];
  CHECK(result["role"] == "user");
  CHECK(result["content"][0]["type"] == "tool_result");
  CHECK(result["content"][0]["tool_use_id"] == "toolu_1");
}

TEST_CASE("puts the results of one turn's parallel calls into a single user turn") {
  ModelRequest request = user_request("Compare Ada and Alan.");
  request.model = "claude-test";
  request.messages.push_back({"assistant", "",
                              {{"toolu_1", "search", R"({"query":"Ada"})"},
                               {"toolu_2", "search", "not json"}}});
  request.messages.push_back({"tool", "Ada: a programmer.", {}, "toolu_1"});
  request.messages.push_back({"tool", "Alan: a logician.", {}, "toolu_2"});
  request.messages.push_back({"user", "Now compare."});
  auto body = anthropic_request_body(request);
  REQUIRE(body["messages"].size() == 4);
  const auto& assistant = body["messages"][1]["content"];
  REQUIRE(assistant.size() == 2);  // no empty text block
  CHECK(assistant[0]["type"] == "tool_use");
  CHECK(assistant[1]["input"] == nlohmann::json::object());  // invalid arguments: empty input
  const auto& results = body["messages"][2];
  CHECK(results["role"] == "user");
  REQUIRE(results["content"].size() == 2);
  CHECK(results["content"][0]["tool_use_id"] == "toolu_1");
  CHECK(results["content"][1]["tool_use_id"] == "toolu_2");
  CHECK(results["content"][1]["content"] == "Alan: a logician.");
  CHECK(body["messages"][3]["content"] == "Now compare.");
  CHECK_FALSE(body.contains("tools"));
  request.tools.tool_choice = "search";
  CHECK(anthropic_request_body(request)["tool_choice"] ==
        nlohmann::json{{"type", "tool"}, {"name", "search"}});
}

TEST_CASE("completes a tool round trip through the Messages API") {
  bench::TestEndpointOptions options;
  options.script = bench::tool_loop_script();
  EndpointFixture fixture(options);
  auto client = fixture.client(fixture.anthropic_config());
  ModelRequest request = user_request("Who was Ada?");
  request.tools.definitions = {{"search", "Searches the corpus", {{"type", "object"}}}};
  auto first = client->complete(request, {});
  REQUIRE(first.ok());
  CHECK(first->finish_reason == "tool_calls");
  REQUIRE(first->tool_calls.size() == 1);
  CHECK(nlohmann::json::parse(first->tool_calls[0].arguments)["query"] == "Who was Ada?");
  request.messages.push_back({"assistant", first->text, first->tool_calls});
  request.messages.push_back({"tool", "Ada Lovelace.", {}, first->tool_calls[0].id});
  auto second = client->complete(request, {});
  REQUIRE(second.ok());
  CHECK(second->text == "tool said: Ada Lovelace.");
  CHECK(second->finish_reason == "stop");
}

TEST_CASE("maps Anthropic stop reasons to the engine's finish reasons") {
  auto parse = [](const char* stop) {
    auto body = nlohmann::json{{"content", nlohmann::json::array()}, {"stop_reason", stop}};
    return parse_anthropic_reply(body)->finish_reason;
  };
  CHECK(parse("end_turn") == "stop");
  CHECK(parse("stop_sequence") == "stop");
  CHECK(parse("max_tokens") == "length");
  CHECK(parse("tool_use") == "tool_calls");
}

TEST_CASE("reports an Anthropic unknown model and a rejected key as permanent errors") {
  bench::TestEndpointOptions options;
  options.models = {"claude-test"};
  options.api_key = "sk-ant-right";
  EndpointFixture fixture(options);
  ::setenv("FAPO_TEST_ANTHROPIC_RIGHT", "sk-ant-right", 1);
  ::setenv("FAPO_TEST_ANTHROPIC_WRONG", "sk-ant-wrong", 1);
  ProviderConfig config = fixture.anthropic_config();
  config.api_key_env = "FAPO_TEST_ANTHROPIC_RIGHT";
  config.model = "claude-nonexistent";
  auto missing = fixture.client(config)->complete(user_request("hi"), {});
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().code == ErrorCode::kModelPermanent);
  CHECK(contains(missing.error().message, "model not found: claude-nonexistent"));
  config.api_key_env = "FAPO_TEST_ANTHROPIC_WRONG";
  auto rejected = fixture.client(config)->complete(user_request("hi"), {});
  REQUIRE_FALSE(rejected.ok());
  CHECK(contains(rejected.error().message, "invalid API key for http://127.0.0.1:"));
  CHECK_FALSE(contains(rejected.error().message, "sk-ant-wrong"));
  CHECK(fixture.endpoint->requests() == 2);
}

TEST_CASE("retries an Anthropic 429 and succeeds") {
  EndpointFixture fixture;
  bench::FaultSpec limited;
  limited.kind = bench::Fault::kRateLimit;
  limited.retry_after = "2";
  fixture.endpoint->push_faults({limited});
  auto reply = fixture.client(fixture.anthropic_config())->complete(user_request("hi"), {});
  REQUIRE(reply.ok());
  CHECK(fixture.endpoint->requests() == 2);
  REQUIRE(fixture.clock.sleeps().size() == 1);
  CHECK(fixture.clock.sleeps()[0] >= Millis(2000));
}

}  // namespace fapo
