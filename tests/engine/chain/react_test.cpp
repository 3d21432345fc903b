// The react step's loop: model turns with tools, the checks every call goes through, the limits
// that end the loop, and the trace it leaves.
#include <doctest/doctest.h>

#include <deque>
#include <functional>
#include <mutex>

#include "engine/chain/executor.h"
#include "engine/chain/react_loop.h"
#include "engine/llm/sim_model.h"
#include "engine/tools/corpus_search.h"

namespace fapo {
namespace {

using nlohmann::json;

// Replies in order; the last one repeats once the list runs out. Remembers every request.
class ScriptedModel final : public ModelClient {
 public:
  explicit ScriptedModel(std::vector<Result<ModelReply>> replies) : replies_(std::move(replies)) {}

  Result<ModelReply> complete(const ModelRequest& request, const CallContext& context) override {
    std::lock_guard lock(mutex_);
    requests.push_back(request);
    contexts.push_back(context);
    std::size_t at = std::min(requests.size() - 1, replies_.size() - 1);
    return replies_[at];
  }
  std::string provider() const override { return "scripted"; }

  std::vector<ModelRequest> requests;
  std::vector<CallContext> contexts;

 private:
  std::vector<Result<ModelReply>> replies_;
  std::mutex mutex_;
};

Result<ModelReply> answer(std::string text) {
  ModelReply out;
  out.text = std::move(text);
  out.tokens_in = 10;
  out.tokens_out = 2;
  return out;
}

Result<ModelReply> calls(std::vector<ToolCall> tool_calls, std::string text = "") {
  ModelReply out;
  out.text = std::move(text);
  out.tokens_in = 10;
  out.tokens_out = 3;
  out.finish_reason = "tool_calls";
  out.tool_calls = std::move(tool_calls);
  return out;
}

ToolCall search_call(std::string id, std::string query) {
  return {std::move(id), "search", json{{"query", std::move(query)}}.dump()};
}

struct ReceivedCall {
  std::string tool;
  json arguments;
  std::chrono::milliseconds timeout;
  ToolCallContext context;
};

// A tool server with tools "search" (needs a string query) and "lookup"; answers from a
// function and records what it was asked.
class FakeProvider final : public ToolProvider {
 public:
  using Answer = std::function<ToolResult(const std::string&, const json&)>;

  FakeProvider(std::string name, std::vector<std::string> tool_names, Answer answer)
      : name_(std::move(name)), answer_(std::move(answer)) {
    for (const std::string& tool : tool_names) {
      ToolDefinition definition{tool, "The " + tool + " tool", {{"type", "object"}}};
      if (tool == "search") {
        definition.parameters = json::parse(R"({
          "$schema": "https://json-schema.org/draft/2020-12/schema",
          "type": "object", "required": ["query"],
          "properties": {"query": {"type": "string"}, "k": {"type": "integer"}}})");
      }
      tools_.push_back(std::move(definition));
      allowed_.push_back(tool);
    }
  }

  const std::string& name() const override { return name_; }
  const std::vector<ToolDefinition>& tools() const override { return tools_; }
  std::vector<std::string> allowed_tools() const override { return allowed_; }
  ToolResult call(const std::string& tool, const json& arguments, std::chrono::milliseconds timeout,
                  const ToolCallContext& context) override {
    received->push_back({tool, arguments, timeout, context});
    return answer_(tool, arguments);
  }

  std::shared_ptr<std::vector<ReceivedCall>> received =
      std::make_shared<std::vector<ReceivedCall>>();

 private:
  std::string name_;
  Answer answer_;
  std::vector<ToolDefinition> tools_;
  std::vector<std::string> allowed_;
};

// A server that failed to start.
class BrokenProvider final : public ToolProvider {
 public:
  const std::string& name() const override { return name_; }
  const std::vector<ToolDefinition>& tools() const override { return tools_; }
  std::optional<std::string> start_error() const override { return "tool server 'srv': it crashed"; }
  std::vector<std::string> allowed_tools() const override { return {"broken"}; }
  ToolResult call(const std::string&, const json&, std::chrono::milliseconds,
                  const ToolCallContext&) override {
    return {"", ToolErrorKind::kOther, "not started"};
  }

 private:
  std::string name_ = "srv";
  std::vector<ToolDefinition> tools_;
};

ToolResult success(std::string content) { return {std::move(content), ToolErrorKind::kNone, ""}; }

ToolResult echo(const std::string& tool, const json& arguments) {
  return success(tool + " result for " + arguments.value("query", std::string("?")));
}

// Tools of one test: "search" and "lookup" from server "fake", "secret" from server "other",
// "broken" from a server that did not start.
struct Tools {
  explicit Tools(FakeProvider::Answer answer = echo) {
    auto fake = std::make_unique<FakeProvider>("fake", std::vector<std::string>{"search", "lookup"},
                                               std::move(answer));
    received = fake->received;
    std::vector<std::unique_ptr<ToolProvider>> providers;
    providers.push_back(std::move(fake));
    providers.push_back(
        std::make_unique<FakeProvider>("other", std::vector<std::string>{"secret"}, echo));
    providers.push_back(std::make_unique<BrokenProvider>());
    set = std::make_unique<ToolSet>(std::move(providers));
  }

  std::shared_ptr<std::vector<ReceivedCall>> received;
  std::unique_ptr<ToolSet> set;
};

CompiledChain compile(const std::string& chain_json, const std::string& prompt =
                                                         "System:\nUse tools.\nUser:\n"
                                                         "Question: ${question}\n") {
  auto chain = parse_chain(json::parse(chain_json), "chain.json");
  REQUIRE_MESSAGE(chain.ok(), (chain.ok() ? "" : chain.error().message));
  auto compiled = CompiledChain::compile({std::move(*chain), {{"agent.md", prompt}}}, "t");
  REQUIRE_MESSAGE(compiled.ok(), (compiled.ok() ? "" : compiled.error().message));
  return std::move(*compiled);
}

// A chain of one react step with the given extra fields.
CompiledChain agent_chain(const std::string& fields = "") {
  return compile(R"({"steps": [{"id": "agent", "kind": "react", "prompt": "agent.md",
                                "tools": ["search", "lookup"])" +
                 (fields.empty() ? "" : ", " + fields) + "}]}");
}

Case make_case() {
  Case item;
  item.case_id = "c1";
  item.context = {{"question", "Who wrote the first program?"}};
  item.expected = {{"answer", "Ada Lovelace"}};
  return item;
}

struct Ran {
  CaseTrace trace;
  StepTrace step;
  json detail;
};

Ran run(const CompiledChain& chain, ModelClient& model, const Tools& tools, int trial = 0) {
  ChainExecutor executor(chain, model, nullptr, {"m", {}}, tools.set.get());
  auto trace = executor.run(make_case(), trial);
  REQUIRE_MESSAGE(trace.ok(), (trace.ok() ? "" : trace.error().message));
  REQUIRE_FALSE(trace->steps.empty());
  StepTrace step = trace->steps.back();
  return {*trace, step, step.detail};
}

std::vector<std::string> offered(const ModelRequest& request) {
  std::vector<std::string> names;
  for (const ToolDefinition& tool : request.tools.definitions) names.push_back(tool.name);
  return names;
}

}  // namespace

TEST_CASE("react: an answer without tool calls ends the loop after one turn") {
  CompiledChain chain = agent_chain(R"J("parse": {"regex": "Answer: (.*)"})J");
  ScriptedModel model({answer("Thinking. Answer: Ada Lovelace")});
  Tools tools;
  Ran ran = run(chain, model, tools, 2);
  CHECK(ran.step.kind == "react");
  CHECK(ran.step.output == "Ada Lovelace");
  CHECK(ran.step.raw_reply == "Thinking. Answer: Ada Lovelace");
  CHECK(ran.trace.final_output == "Ada Lovelace");
  CHECK(ran.detail["stop_reason"] == "answer");
  CHECK(ran.detail["iterations"] == 1);
  CHECK(ran.detail["tool_calls"] == 0);
  CHECK(ran.detail["trajectory"] == json::array());
  CHECK_FALSE(ran.detail.contains("unavailable_tools"));
  CHECK_FALSE(ran.detail.contains("parse_failed"));
  REQUIRE(model.requests.size() == 1);
  CHECK(offered(model.requests[0]) == std::vector<std::string>{"search", "lookup"});
  CHECK(model.requests[0].tools.tool_choice == "");
  CHECK(model.requests[0].sample_index == 200);
  CHECK(model.contexts[0].step_id == "agent");
  CHECK(ran.trace.model_calls == 1);
}

TEST_CASE("react: one tool call is run and its result fed back as a tool message") {
  CompiledChain chain = agent_chain(R"("search_k": 4, "tool_timeout_s": 2.5)");
  ScriptedModel model(
      {calls({search_call("call_a", "first program")}, "Let me look."), answer("Ada Lovelace")});
  Tools tools;
  Ran ran = run(chain, model, tools, 1);
  CHECK(ran.step.output == "Ada Lovelace");
  REQUIRE(tools.received->size() == 1);
  const ReceivedCall& received = tools.received->front();
  CHECK(received.tool == "search");
  CHECK(received.arguments == json{{"query", "first program"}});
  CHECK(received.timeout == std::chrono::milliseconds(2500));
  CHECK(received.context.case_id == "c1");
  CHECK(received.context.trial == 1);
  CHECK(received.context.step_id == "agent");
  CHECK(received.context.search_k == 4);

  REQUIRE(model.requests.size() == 2);
  const auto& messages = model.requests[1].messages;
  REQUIRE(messages.size() == 4);
  CHECK(messages[2].role == "assistant");
  CHECK(messages[2].content == "Let me look.");
  REQUIRE(messages[2].tool_calls.size() == 1);
  CHECK(messages[2].tool_calls[0].id == "call_a");
  CHECK(messages[3].role == "tool");
  CHECK(messages[3].tool_call_id == "call_a");
  CHECK(messages[3].content == "search result for first program");
  // Every turn draws with the step's one sample index.
  CHECK(model.requests[0].sample_index == 100);
  CHECK(model.requests[1].sample_index == 100);

  CHECK(ran.step.messages.size() == 4);
  CHECK(ran.step.model_calls == 2);
  CHECK(ran.step.tokens_in == 20);
  CHECK(ran.step.tokens_out == 5);
  CHECK(ran.detail["iterations"] == 2);
  CHECK(ran.detail["tool_calls"] == 1);
  REQUIRE(ran.detail["trajectory"].size() == 1);
  const json& entry = ran.detail["trajectory"][0];
  CHECK(entry["iteration"] == 1);
  CHECK(entry["call_id"] == "call_a");
  CHECK(entry["tool"] == "search");
  CHECK(entry["arguments"] == json{{"query", "first program"}});
  CHECK(entry["result_chars"] == std::string("search result for first program").size());
  CHECK(entry["truncated"] == false);
  CHECK(entry["provider"] == "fake");
  CHECK(entry.contains("latency_ms"));
  CHECK_FALSE(entry.contains("error_kind"));
  CHECK_FALSE(entry.contains("error"));
}

TEST_CASE("react: two calls over two turns are recorded in order with their iterations") {
  CompiledChain chain = agent_chain();
  ScriptedModel model({calls({search_call("c1", "first program")}),
                       calls({{"c2", "lookup", R"({"query": "Ada"})"}}), answer("Ada")});
  Tools tools;
  Ran ran = run(chain, model, tools);
  CHECK(ran.detail["stop_reason"] == "answer");
  CHECK(ran.detail["iterations"] == 3);
  CHECK(ran.detail["tool_calls"] == 2);
  const json& trajectory = ran.detail["trajectory"];
  REQUIRE(trajectory.size() == 2);
  CHECK(trajectory[0]["tool"] == "search");
  CHECK(trajectory[0]["iteration"] == 1);
  CHECK(trajectory[1]["tool"] == "lookup");
  CHECK(trajectory[1]["iteration"] == 2);
  REQUIRE(model.requests.size() == 3);
  CHECK(model.requests[2].messages.size() == 6);
  CHECK(model.requests[2].messages[5].content == "lookup result for Ada");
  CHECK(ran.step.model_calls == 3);
}

TEST_CASE("react: calls beyond max_calls_per_iteration are refused as limit and explained") {
  CompiledChain chain = agent_chain(R"("max_calls_per_iteration": 1)");
  ScriptedModel model({calls({search_call("a", "one"), search_call("b", "two")}), answer("done")});
  Tools tools;
  Ran ran = run(chain, model, tools);
  REQUIRE(tools.received->size() == 1);
  CHECK(tools.received->front().arguments["query"] == "one");
  const json& trajectory = ran.detail["trajectory"];
  REQUIRE(trajectory.size() == 2);
  CHECK_FALSE(trajectory[0].contains("error_kind"));
  CHECK(trajectory[1]["error_kind"] == "limit");
  CHECK(trajectory[1]["error"].get<std::string>().find("max_calls_per_iteration") !=
        std::string::npos);
  CHECK(trajectory[1]["latency_ms"] == 0);
  CHECK(ran.detail["tool_calls"] == 1);
  // The model is told, in the tool message answering the refused call.
  const auto& messages = model.requests[1].messages;
  REQUIRE(messages.size() == 5);
  CHECK(messages[4].tool_call_id == "b");
  CHECK(messages[4].content.rfind("error: not run", 0) == 0);
}

TEST_CASE("react: once max_calls is spent the next turn offers tool_choice none") {
  CompiledChain chain = agent_chain(R"("max_calls": 2, "tool_choice": "auto")");
  ScriptedModel model({calls({search_call("a", "1"), search_call("b", "2"), search_call("c", "3")}),
                       answer("final")});
  Tools tools;
  Ran ran = run(chain, model, tools);
  CHECK(tools.received->size() == 2);
  const json& trajectory = ran.detail["trajectory"];
  REQUIRE(trajectory.size() == 3);
  CHECK(trajectory[2]["error_kind"] == "limit");
  CHECK(trajectory[2]["error"].get<std::string>().find("(max_calls)") != std::string::npos);
  REQUIRE(model.requests.size() == 2);
  CHECK(model.requests[0].tools.tool_choice == "auto");
  CHECK(model.requests[1].tools.tool_choice == "none");
  CHECK(offered(model.requests[1]) == std::vector<std::string>{"search", "lookup"});
  CHECK(ran.detail["stop_reason"] == "answer");
  CHECK(ran.step.output == "final");
  CHECK(ran.detail["tool_calls"] == 2);
}

TEST_CASE("react: asking for tools after a tool_choice none turn stops with max_calls") {
  CompiledChain chain = agent_chain(R"("max_calls": 1)");
  ScriptedModel model({calls({search_call("a", "1")}), calls({search_call("b", "2")}, "partial")});
  Tools tools;
  Ran ran = run(chain, model, tools);
  CHECK(ran.detail["stop_reason"] == "max_calls");
  CHECK(ran.step.output == "partial");
  CHECK(ran.detail["iterations"] == 2);
  CHECK(ran.step.model_calls == 2);
  CHECK(tools.received->size() == 1);
  const json& trajectory = ran.detail["trajectory"];
  REQUIRE(trajectory.size() == 2);
  CHECK(trajectory[1]["iteration"] == 2);
  CHECK(trajectory[1]["error_kind"] == "limit");
  CHECK(trajectory[1]["provider"] == "fake");
  // The messages are what the model last saw: the refused turn was never answered.
  CHECK(ran.step.messages.size() == 4);
}

TEST_CASE(
    "react: a tool of another provider is refused as permission, a made-up one as "
    "unknown_tool") {
  CompiledChain chain = agent_chain();
  ScriptedModel model({calls({{"a", "secret", "{}"}, {"b", "nope", "{}"}}), answer("x")});
  Tools tools;
  Ran ran = run(chain, model, tools);
  CHECK(tools.received->empty());
  const json& trajectory = ran.detail["trajectory"];
  REQUIRE(trajectory.size() == 2);
  CHECK(trajectory[0]["error_kind"] == "permission");
  CHECK(trajectory[0]["provider"] == "other");
  CHECK(trajectory[0]["error"].get<std::string>().find("not offered to step 'agent'") !=
        std::string::npos);
  CHECK(trajectory[1]["error_kind"] == "unknown_tool");
  CHECK_FALSE(trajectory[1].contains("provider"));
  CHECK(model.requests[1].messages[4].content == "error: there is no tool 'nope'");
  // Refused calls still count against the case's calls.
  CHECK(ran.detail["tool_calls"] == 2);
}

TEST_CASE("react: arguments that are not a JSON object are invalid_arguments, kept as text") {
  CompiledChain chain = agent_chain();
  ScriptedModel model(
      {calls({{"a", "search", "{query: oops"}, {"b", "search", "[1, 2]"}}), answer("x")});
  Tools tools;
  Ran ran = run(chain, model, tools);
  CHECK(tools.received->empty());
  const json& trajectory = ran.detail["trajectory"];
  REQUIRE(trajectory.size() == 2);
  CHECK(trajectory[0]["error_kind"] == "invalid_arguments");
  CHECK(trajectory[0]["arguments"] == "{query: oops");
  CHECK(trajectory[0]["error"].get<std::string>().find("must be a JSON object") !=
        std::string::npos);
  CHECK(trajectory[1]["error_kind"] == "invalid_arguments");
  CHECK(trajectory[1]["arguments"] == json::array({1, 2}));
}

TEST_CASE(
    "react: arguments violating the tool's schema are refused with the validator's "
    "message") {
  CompiledChain chain = agent_chain();
  ScriptedModel model(
      {calls({{"a", "search", R"({"query": 5})"}, {"b", "search", "{}"}}), answer("x")});
  Tools tools;
  Ran ran = run(chain, model, tools);
  CHECK(tools.received->empty());
  const json& trajectory = ran.detail["trajectory"];
  REQUIRE(trajectory.size() == 2);
  CHECK(trajectory[0]["error_kind"] == "invalid_arguments");
  const std::string type_error = trajectory[0]["error"].get<std::string>();
  CHECK(type_error.find("invalid arguments for 'search'") != std::string::npos);
  CHECK(type_error.find("query") != std::string::npos);
  CHECK(trajectory[1]["error_kind"] == "invalid_arguments");
  CHECK(trajectory[1]["error"].get<std::string>().find("query") != std::string::npos);
  CHECK(model.requests[1].messages[3].content.rfind("error: invalid arguments", 0) == 0);
}

TEST_CASE("react: a provider's timeout or failure is fed back as error text, not a step error") {
  CompiledChain chain = agent_chain();
  ScriptedModel model({calls({search_call("a", "slow"), search_call("b", "bad")}), answer("x")});
  Tools tools([](const std::string&, const json& arguments) -> ToolResult {
    if (arguments["query"] == "slow") {
      return {"", ToolErrorKind::kTimeout, "no answer within 10 s"};
    }
    return {"the backend said no", ToolErrorKind::kOther, "server error 500"};
  });
  Ran ran = run(chain, model, tools);
  CHECK_FALSE(ran.step.error.has_value());
  CHECK_FALSE(ran.step.infrastructure_error);
  CHECK(tools.received->size() == 2);
  const json& trajectory = ran.detail["trajectory"];
  CHECK(trajectory[0]["error_kind"] == "timeout");
  CHECK(trajectory[0]["error"] == "no answer within 10 s");
  CHECK(trajectory[1]["error_kind"] == "other");
  CHECK(trajectory[1]["error"] == "server error 500");
  const auto& messages = model.requests[1].messages;
  CHECK(messages[3].content == "error: no answer within 10 s");
  CHECK(messages[4].content == "error: the backend said no");
  CHECK(ran.detail["stop_reason"] == "answer");
}

TEST_CASE("react: a long result is cut to max_result_chars with a marker") {
  CompiledChain chain = agent_chain(R"("max_result_chars": 100)");
  ScriptedModel model({calls({search_call("a", "long")}), answer("x")});
  Tools tools([](const std::string&, const json&) -> ToolResult {
    return success(std::string(240, 'x') + std::string(10, 'y'));
  });
  Ran ran = run(chain, model, tools);
  const std::string fed = model.requests[1].messages[3].content;
  CHECK(fed == std::string(100, 'x') + "\n[truncated: 100 of 250 characters shown]");
  CHECK(ran.step.messages[3].content == fed);
  const json& entry = ran.detail["trajectory"][0];
  CHECK(entry["result_chars"] == 250);
  CHECK(entry["truncated"] == true);
}

TEST_CASE("react: truncation counts characters, never splitting a UTF-8 sequence") {
  CompiledChain chain = agent_chain(R"("max_result_chars": 100)");
  ScriptedModel model({calls({search_call("a", "long")}), answer("x")});
  std::string text;
  for (int i = 0; i < 120; ++i) text += "é";
  Tools tools([text](const std::string&, const json&) -> ToolResult { return success(text); });
  Ran ran = run(chain, model, tools);
  std::string expected;
  for (int i = 0; i < 100; ++i) expected += "é";
  CHECK(model.requests[1].messages[3].content ==
        expected + "\n[truncated: 100 of 120 characters shown]");
  CHECK(ran.detail["trajectory"][0]["result_chars"] == 120);
}

TEST_CASE("react: unavailable tools are not offered and are listed with the reason") {
  CompiledChain chain = compile(R"({"steps": [{"id": "agent", "kind": "react",
      "prompt": "agent.md", "tools": ["search", "broken", "ghost"]}]})");
  ScriptedModel model({calls({{"a", "broken", "{}"}}), answer("x")});
  Tools tools;
  Ran ran = run(chain, model, tools);
  CHECK(offered(model.requests[0]) == std::vector<std::string>{"search"});
  CHECK(ran.detail["unavailable_tools"] == json{{"broken", "tool server 'srv': it crashed"},
                                                {"ghost", "not provided by any tool provider"}});
  // The step names it, so the call fails like one to a server that is down.
  CHECK(ran.detail["trajectory"][0]["error_kind"] == "other");
  CHECK(ran.detail["trajectory"][0]["error"] ==
        "tool 'broken' is unavailable: tool server 'srv': it crashed");
}

TEST_CASE("react: without any tool provider every tool is unavailable and none is offered") {
  CompiledChain chain = agent_chain();
  ScriptedModel model({answer("plain")});
  ChainExecutor executor(chain, model, nullptr, {"m", {}});
  auto trace = executor.run(make_case(), 0);
  REQUIRE(trace.ok());
  CHECK(model.requests[0].tools.empty());
  CHECK(trace->steps[0].detail["unavailable_tools"] ==
        json{{"search", "not provided by any tool provider"},
             {"lookup", "not provided by any tool provider"}});
  CHECK(trace->final_output == "plain");
}

TEST_CASE("react: a model that keeps calling tools stops at max_iterations") {
  CompiledChain chain = agent_chain(R"("max_iterations": 2)");
  ScriptedModel model({calls({search_call("a", "1")}), calls({search_call("b", "2")}, "still")});
  Tools tools;
  Ran ran = run(chain, model, tools);
  CHECK(ran.detail["stop_reason"] == "max_iterations");
  CHECK(ran.detail["iterations"] == 2);
  CHECK(ran.step.output == "still");
  CHECK(ran.step.model_calls == 2);
  // The last turn's call is never run: no turn is left to read its result.
  CHECK(tools.received->size() == 1);
  const json& trajectory = ran.detail["trajectory"];
  REQUIRE(trajectory.size() == 2);
  CHECK(trajectory[1]["error_kind"] == "limit");
  CHECK(trajectory[1]["error"].get<std::string>().find("max_iterations") != std::string::npos);
  CHECK(ran.detail["tool_calls"] == 1);
}

TEST_CASE("react: a forced tool_choice applies to the first turn only") {
  CompiledChain chain = agent_chain(R"("tool_choice": "search")");
  ScriptedModel model({calls({search_call("a", "1")}), answer("x")});
  Tools tools;
  run(chain, model, tools);
  REQUIRE(model.requests.size() == 2);
  CHECK(model.requests[0].tools.tool_choice == "search");
  CHECK(model.requests[1].tools.tool_choice == "auto");
}

TEST_CASE("react: a model failure is an infrastructure failure that keeps the trajectory") {
  CompiledChain chain = agent_chain();
  ScriptedModel model({calls({search_call("a", "1")}),
                       make_error(ErrorCode::kModelTransient, "HTTP 503 after 3 retries")});
  Tools tools;
  ChainExecutor executor(chain, model, nullptr, {"m", {}}, tools.set.get());
  auto trace = executor.run(make_case(), 0);
  REQUIRE(trace.ok());
  CHECK(trace->infrastructure_failure);
  REQUIRE(trace->steps.size() == 1);
  const StepTrace& step = trace->steps[0];
  CHECK(step.infrastructure_error);
  CHECK(step.error.value_or("").find("HTTP 503") != std::string::npos);
  CHECK(step.model_calls == 2);
  CHECK(step.detail["trajectory"].size() == 1);
  CHECK_FALSE(step.detail.contains("stop_reason"));
}

TEST_CASE("react: cancellation is checked before every model turn") {
  CompiledChain chain = agent_chain();
  ScriptedModel model({calls({search_call("a", "1")}), answer("x")});
  std::atomic<bool> cancel{false};
  Tools tools([&cancel](const std::string&, const json&) -> ToolResult {
    cancel = true;  // cancelled while the tool runs
    return success("result");
  });
  ChainExecutor executor(chain, model, nullptr, {"m", {}}, tools.set.get());
  auto trace = executor.run(make_case(), 0, &cancel);
  REQUIRE_FALSE(trace.ok());
  CHECK(trace.error().code == ErrorCode::kCancelled);
  CHECK(model.requests.size() == 1);
  REQUIRE(tools.received->size() == 1);
  CHECK(tools.received->front().context.cancel == &cancel);
}

TEST_CASE("react: the trace survives a JSON round trip with its detail and tool messages") {
  CompiledChain chain = agent_chain();
  ScriptedModel model({calls({search_call("a", "first")}), answer("Ada")});
  Tools tools;
  Ran ran = run(chain, model, tools);
  CaseTrace back = case_trace_from_json(to_json(ran.trace));
  REQUIRE(back.steps.size() == 1);
  const StepTrace& step = back.steps[0];
  CHECK(step.kind == "react");
  CHECK(step.detail == ran.detail);
  REQUIRE(step.messages.size() == 4);
  REQUIRE(step.messages[2].tool_calls.size() == 1);
  CHECK(step.messages[2].tool_calls[0].id == "a");
  CHECK(step.messages[2].tool_calls[0].name == "search");
  CHECK(json::parse(step.messages[2].tool_calls[0].arguments) == json{{"query", "first"}});
  CHECK(step.messages[3].role == "tool");
  CHECK(step.messages[3].tool_call_id == "a");
  CHECK(to_json(back) == to_json(ran.trace));
}

TEST_CASE("react: runs inside a loop body, one trace per iteration") {
  CompiledChain chain = compile(R"({"steps": [{"id": "again", "kind": "loop",
      "max_iterations": 2, "steps": [{"id": "agent", "kind": "react", "prompt": "agent.md",
      "tools": ["search"]}]}]})");
  ScriptedModel model({answer("x")});
  Tools tools;
  ChainExecutor executor(chain, model, nullptr, {"m", {}}, tools.set.get());
  auto trace = executor.run(make_case(), 0);
  REQUIRE(trace.ok());
  REQUIRE(trace->steps.size() == 3);
  CHECK(trace->steps[0].kind == "react");
  CHECK(trace->steps[0].iteration == 1);
  CHECK(trace->steps[1].iteration == 2);
  CHECK(trace->steps[0].detail["stop_reason"] == "answer");
  CHECK(trace->final_output == "x");
}

TEST_CASE("react: a replay that resamples the step shifts every turn's sample index") {
  auto parsed = parse_chain(json::parse(R"({"steps": [
      {"id": "first", "kind": "llm", "prompt": "first.md"},
      {"id": "agent", "kind": "react", "prompt": "agent.md", "tools": ["search"]}]})"),
                            "chain.json");
  REQUIRE(parsed.ok());
  auto chain = CompiledChain::compile(
      {std::move(*parsed),
       {{"first.md", "Q: ${question}"}, {"agent.md", "Notes: ${steps.first.output}"}}},
      "t");
  REQUIRE(chain.ok());
  ScriptedModel model({calls({search_call("a", "1")}), answer("y")});
  Tools tools;
  ChainExecutor executor(*chain, model, nullptr, {"m", {}}, tools.set.get());
  ReplayStart start;
  start.from_step = "agent";
  start.outputs = {{"first", "supplied notes"}};
  start.resample = 2;
  auto trace = executor.run_from(make_case(), 3, start);
  REQUIRE(trace.ok());
  REQUIRE(model.requests.size() == 2);
  CHECK(model.requests[0].messages[0].content == "Notes: supplied notes");
  CHECK(model.requests[0].sample_index == 300 + 2 * kResampleStride);
  CHECK(model.requests[1].sample_index == 300 + 2 * kResampleStride);
  CHECK(trace->final_output == "y");
}

TEST_CASE("react: the simulated model searches the corpus and answers from what it found") {
  std::vector<Passage> passages = {
      {"p1", "Analytical Engine", "The first program ran on the Analytical Engine."},
      {"p2", "Ada Lovelace", "Ada Lovelace is the author of that algorithm."},
      {"p3", "Bridges", "Stone bridges cross rivers."}};
  auto index = std::make_shared<const Bm25Index>(Bm25Index::build(passages));
  std::vector<std::unique_ptr<ToolProvider>> providers;
  providers.push_back(make_corpus_search(index));
  ToolSet tool_set(std::move(providers));
  auto sim = make_sim_model(json::parse(R"({"rules": [
      {"name": "answer_found", "when": {"tool_result_contains": ["lovelace"]},
       "reply": "${expected.answer}"},
      {"name": "search_again", "when": {"tool_result_present": true},
       "tool_call": {"name": "search", "arguments": {"query": "author"}}},
      {"name": "search_first",
       "tool_call": {"name": "search", "arguments": {
         "query": "${prompt_line:^Question: (.*)$}"}}}],
      "default_reply": "no rule"})"),
                            "sim-1");
  REQUIRE(sim.ok());
  CompiledChain chain = compile(R"({"steps": [{"id": "agent", "kind": "react",
      "prompt": "agent.md", "tools": ["search"], "search_k": 1, "temperature": 0}]})");
  ChainExecutor executor(chain, **sim, nullptr, {"sim-1", {}}, &tool_set);
  auto trace = executor.run(make_case(), 0);
  REQUIRE_MESSAGE(trace.ok(), (trace.ok() ? "" : trace.error().message));
  const StepTrace& step = trace->steps[0];
  CHECK(trace->final_output == "Ada Lovelace");
  CHECK(step.detail["stop_reason"] == "answer");
  CHECK(step.detail["iterations"] == 3);
  CHECK(step.detail["sim"]["rule"] == "answer_found");
  const json& trajectory = step.detail["trajectory"];
  REQUIRE(trajectory.size() == 2);
  CHECK(trajectory[0]["call_id"] == "call_1");
  CHECK(trajectory[0]["arguments"] == json{{"query", "Who wrote the first program?"}});
  CHECK(trajectory[0]["provider"] == "builtin");
  CHECK(trajectory[1]["arguments"] == json{{"query", "author"}});
  REQUIRE(step.messages.size() == 6);
  CHECK(step.messages[3].content ==
        "[1] «Analytical Engine | The first program ran on the "
        "Analytical Engine.»");
  CHECK(step.messages[5].content.find("Ada Lovelace") != std::string::npos);
  CHECK(step.model_calls == 3);
  CHECK(step.tokens_in > 0);
}

}  // namespace fapo
