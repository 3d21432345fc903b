// Tool calling in the simulated model: rules that call offered tools and rules that read the
// tool results of the conversation.
#include "engine/llm/sim_model.h"

#include <doctest/doctest.h>

#include "tests/test_support.h"

namespace fapo {
namespace {

using nlohmann::json;

std::unique_ptr<ModelClient> sim(const json& config) {
  auto model = make_sim_model(config, "sim-1");
  REQUIRE_MESSAGE(model.ok(), (model.ok() ? "" : model.error().message));
  return std::move(model).value();
}

Case ada_case() {
  Case result;
  result.case_id = "q7";
  result.task_type = "bridge";
  result.expected = {{"answer", "Ada Lovelace"}};
  result.metadata = {{"topic", "computing"}};
  return result;
}

ModelRequest agent_request(std::string tool_choice = "auto") {
  ModelRequest result;
  result.model = "sim-1";
  result.messages = {{"system", "You may search the corpus."},
                     {"user", "Question: Who wrote the first program?"}};
  result.sampling.temperature = 0;
  result.tools.definitions = {{"search", "Searches the corpus", {{"type", "object"}}},
                              {"fetch", "Fetches a page", {{"type", "object"}}}};
  result.tools.tool_choice = std::move(tool_choice);
  return result;
}

Result<ModelReply> ask(ModelClient& model, const Case& case_data, const ModelRequest& request) {
  CallContext context;
  context.case_data = &case_data;
  return model.complete(request, context);
}

ModelReply call(ModelClient& model, const Case& case_data, const ModelRequest& request) {
  auto reply = ask(model, case_data, request);
  REQUIRE_MESSAGE(reply.ok(), (reply.ok() ? "" : reply.error().message));
  return std::move(reply).value();
}

// Appends the reply's calls and one result for the first of them, as an agent loop would.
void answer_call(ModelRequest& request, const ModelReply& reply, const std::string& result) {
  REQUIRE_FALSE(reply.tool_calls.empty());
  request.messages.push_back({"assistant", reply.text, reply.tool_calls});
  request.messages.push_back({"tool", result, {}, reply.tool_calls[0].id});
}

const json kSearchRule = json::parse(R"({"rules": [
  {"name": "search_first", "reply": "Searching.",
   "tool_call": {"name": "search", "arguments": {
     "query": "${prompt_line:^Question: (.*)$}", "k": 3,
     "filter": {"topic": "${metadata.topic}", "tags": ["${expected.answer}", 1]}}}}],
  "default_reply": "plain answer"})");

const json kAgentRules = json::parse(R"({"rules": [
  {"name": "answer_found", "when": {"tool_result_contains": ["lovelace"]},
   "reply": "${expected.answer}"},
  {"name": "search_again", "when": {"tool_result_present": true},
   "tool_call": {"name": "search", "arguments": {"query": "first program author"}}},
  {"name": "search_first", "when": {"tool_result_present": false},
   "tool_call": {"name": "search", "arguments": {"query": "first program"}}}],
  "default_reply": "no rule"})");

}  // namespace

TEST_CASE("calls an offered tool with rendered arguments and finish reason tool_calls") {
  auto model = sim(kSearchRule);
  ModelReply reply = call(*model, ada_case(), agent_request());
  CHECK(reply.text == "Searching.");
  CHECK(reply.finish_reason == "tool_calls");
  REQUIRE(reply.tool_calls.size() == 1);
  CHECK(reply.tool_calls[0].id == "call_1");
  CHECK(reply.tool_calls[0].name == "search");
  CHECK(json::parse(reply.tool_calls[0].arguments) ==
        json::parse(R"({"query": "Who wrote the first program?", "k": 3,
                        "filter": {"topic": "computing", "tags": ["Ada Lovelace", 1]}})"));
  CHECK(reply.sim_trace ==
        json{{"rule", "search_first"}, {"noise", false}, {"simulated", true},
             {"tool_call", "search"}});
  // The call counts towards the reply's tokens.
  CHECK(reply.tokens_out ==
        static_cast<int>((reply.text.size() + 6 + reply.tool_calls[0].arguments.size() + 3) / 4));
}

TEST_CASE("calls a tool only when the request offers it and the tool choice allows it") {
  auto model = sim(kSearchRule);
  for (const char* choice : {"", "auto", "required", "search"}) {
    CAPTURE(choice);
    CHECK(call(*model, ada_case(), agent_request(choice)).tool_calls.size() == 1);
  }
  for (const char* choice : {"none", "fetch"}) {
    CAPTURE(choice);
    ModelReply reply = call(*model, ada_case(), agent_request(choice));
    CHECK(reply.tool_calls.empty());
    CHECK(reply.text == "plain answer");
    CHECK(reply.finish_reason == "stop");
  }
  ModelRequest plain = agent_request();
  plain.tools = {};
  ModelReply reply = call(*model, ada_case(), plain);
  CHECK(reply.tool_calls.empty());
  CHECK(reply.sim_trace["rule"] == "(default)");
  CHECK_FALSE(reply.sim_trace.contains("tool_call"));
}

TEST_CASE("reacts to whether a tool result is present and to what the last one says") {
  auto model = sim(kAgentRules);
  Case ada = ada_case();
  ModelRequest request = agent_request();
  ModelReply first = call(*model, ada, request);
  CHECK(first.sim_trace["rule"] == "search_first");
  CHECK(first.tool_calls[0].id == "call_1");
  answer_call(request, first, "Nothing relevant was found.");
  ModelReply second = call(*model, ada, request);
  CHECK(second.sim_trace["rule"] == "search_again");
  CHECK(second.tool_calls[0].id == "call_2");  // ids stay unique within the conversation
  CHECK(json::parse(second.tool_calls[0].arguments)["query"] == "first program author");
  answer_call(request, second, "Ada LOVELACE wrote the first program.");
  ModelReply third = call(*model, ada, request);
  CHECK(third.sim_trace["rule"] == "answer_found");
  CHECK(third.text == "Ada Lovelace");
  CHECK(third.tool_calls.empty());
  CHECK(third.finish_reason == "stop");
  // Only the last result counts: a later result without the needle hides an earlier one.
  answer_call(request, second, "A page about looms.");
  CHECK(call(*model, ada, request).sim_trace["rule"] == "search_again");
}

TEST_CASE("tool_result_contains never holds in a conversation without tool results") {
  auto model = sim(json::parse(R"({"rules": [
    {"name": "found", "when": {"tool_result_contains": ["question"]}, "reply": "found"}],
    "default_reply": "none"})"));
  // The needle is in the prompt, but there is no tool result to find it in.
  CHECK(call(*model, ada_case(), agent_request()).text == "none");
}

TEST_CASE("gives the same call on every run and never perturbs a tool call with noise") {
  json config = kSearchRule;
  config["noise"] = {{"per_temperature", 10}, {"max", 1}, {"modes", {"verbose"}}};
  auto model = sim(config);
  ModelRequest request = agent_request();
  request.sampling.temperature = 1.0;
  ModelReply first = call(*model, ada_case(), request);
  ModelReply again = call(*sim(config), ada_case(), request);
  CHECK(first.text == "Searching.");
  CHECK(first.sim_trace["noise"] == false);
  CHECK(again.tool_calls[0].arguments == first.tool_calls[0].arguments);
  CHECK(again.tool_calls[0].id == first.tool_calls[0].id);
  request.tools = {};  // the same rule set still perturbs plain answers
  CHECK(call(*model, ada_case(), request).sim_trace["noise"] == true);
}

TEST_CASE("an argument referencing a missing value is a permanent error naming the argument") {
  auto model = sim(kSearchRule);
  Case bare = ada_case();
  bare.metadata = json::object();
  auto reply = ask(*model, bare, agent_request());
  REQUIRE_FALSE(reply.ok());
  CHECK(reply.error().code == ErrorCode::kModelPermanent);
  const std::string& message = reply.error().message;
  CHECK(message.find("rule 'search_first'") != std::string::npos);
  CHECK(message.find("tool_call.arguments/filter/topic") != std::string::npos);
  CHECK(message.find("${metadata.topic}") != std::string::npos);
}

TEST_CASE("reports every problem of tool calls and tool-result conditions with its path") {
  auto model = make_sim_model(json::parse(R"({"rules": [
    {"name": "a", "tool_call": "search"},
    {"name": "b", "tool_call": {"nam": "search", "arguments": []}},
    {"name": "c", "tool_call": {"name": "search", "arguments": {"q": ["${expected.}"]}}},
    {"name": "d", "when": {"tool_result_present": "yes", "tool_result_contains": "x"},
     "reply": "x"},
    {"name": "e", "when": {"tool_result_contain": ["x"]}, "reply": "x"},
    {"name": "f"}]})"),
                              "sim-1");
  REQUIRE_FALSE(model.ok());
  CHECK(model.error().code == ErrorCode::kInvalidInput);
  const std::string& m = model.error().message;
  for (const char* fragment : {
           "sim.rules[0].tool_call: must be an object",
           "sim.rules[1].tool_call: unknown key 'nam' (did you mean 'name'?)",
           "sim.rules[1].tool_call.name: required",
           "sim.rules[1].tool_call.arguments: must be an object",
           "sim.rules[2].tool_call.arguments.q[0]: unknown placeholder ${expected.}",
           "sim.rules[3].when.tool_result_present: must be true or false",
           "sim.rules[3].when.tool_result_contains: must be an array of strings",
           "sim.rules[4].when: unknown key 'tool_result_contain' (did you mean "
           "'tool_result_contains'?)",
           "sim.rules[5].reply: required"}) {
    CHECK_MESSAGE(m.find(fragment) != std::string::npos, fragment << "\nin:\n" << m);
  }
  // A rule with a tool call needs no reply.
  CHECK(make_sim_model(json::parse(R"({"rules": [
    {"name": "a", "tool_call": {"name": "search"}}]})"),
                       "sim-1")
            .ok());
}

}  // namespace fapo
