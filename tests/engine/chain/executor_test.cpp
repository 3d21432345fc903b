#include "engine/chain/executor.h"

#include <doctest/doctest.h>

#include <functional>
#include <mutex>
#include <set>

namespace {

using fapo::ChatMessage;
using fapo::ModelReply;
using fapo::ModelRequest;

// A model that answers from a function of the request, and remembers what it was asked.
class ScriptedModel final : public fapo::ModelClient {
 public:
  using Script = std::function<fapo::Result<ModelReply>(const ModelRequest&)>;
  explicit ScriptedModel(Script script) : script_(std::move(script)) {}

  fapo::Result<ModelReply> complete(const ModelRequest& request,
                                    const fapo::CallContext& context) override {
    std::lock_guard lock(mutex_);
    requests.push_back(request);
    contexts.push_back(context);
    return script_(request);
  }
  std::string provider() const override { return "scripted"; }

  std::vector<ModelRequest> requests;
  std::vector<fapo::CallContext> contexts;

 private:
  Script script_;
  std::mutex mutex_;
};

ModelReply reply(std::string text) {
  ModelReply out;
  out.text = std::move(text);
  out.tokens_in = 10;
  out.tokens_out = 2;
  return out;
}

std::string user_text(const ModelRequest& request) { return request.messages.back().content; }

fapo::CompiledChain compile(const char* chain_json, std::map<std::string, std::string> prompts) {
  auto chain = fapo::parse_chain(nlohmann::json::parse(chain_json), "chain.json");
  REQUIRE(chain.ok());
  auto compiled = fapo::CompiledChain::compile({std::move(*chain), std::move(prompts)}, "t");
  if (!compiled.ok()) FAIL(compiled.error().message);
  return std::move(*compiled);
}

fapo::Case make_case() {
  fapo::Case item;
  item.case_id = "c1";
  item.context = {{"question", "Who wrote ${x} Hamlet?"}};
  item.expected = {{"answer", "Shakespeare"}};
  return item;
}

}  // namespace

TEST_CASE("runs steps in order, records rendered messages, tokens and the final output") {
  auto chain = compile(R"J({"steps": [
      {"id": "draft", "kind": "llm", "prompt": "d.md"},
      {"id": "short", "kind": "transform", "op": "truncate", "input": "${steps.draft.output}",
       "max_words": 2}], "output": "short"})J",
                       {{"d.md", "System:\nBe brief.\nUser:\nQ: ${question}\n"}});
  ScriptedModel model([](const ModelRequest&) { return reply("William Shakespeare wrote it"); });
  fapo::ChainExecutor executor(chain, model, nullptr, {"m", {}});
  fapo::Case item = make_case();
  auto trace = executor.run(item, 0);
  REQUIRE(trace.ok());
  CHECK(trace->final_output == "William Shakespeare");
  REQUIRE(trace->steps.size() == 2);
  REQUIRE(trace->steps[0].messages.size() == 2);
  CHECK(trace->steps[0].messages[0].role == "system");
  // Substituted text is not expanded again: the literal ${x} from the case survives.
  CHECK(trace->steps[0].messages[1].content == "Q: Who wrote ${x} Hamlet?");
  CHECK(trace->tokens_in == 10);
  CHECK(trace->model_calls == 1);
  // The expected answer travels only through the side channel, never the prompt.
  REQUIRE(model.contexts.size() == 1);
  CHECK(model.contexts[0].case_data->expected["answer"] == "Shakespeare");
  CHECK(user_text(model.requests[0]).find("Shakespeare") == std::string::npos);
}

TEST_CASE("a template cannot name the expected answer") {
  auto chain = fapo::parse_chain(
      nlohmann::json::parse(R"J({"steps": [{"id": "a", "kind": "llm", "prompt": "a.md"}]})J"),
      "chain.json");
  REQUIRE(chain.ok());
  auto compiled = fapo::CompiledChain::compile({*chain, {{"a.md", "${expected.answer}"}}}, "t");
  REQUIRE_FALSE(compiled.ok());
}

TEST_CASE("parses replies with regex, json field and delimiter rules, recording failures") {
  auto chain = compile(R"J({"steps": [
      {"id": "a", "kind": "llm", "prompt": "p.md", "parse": {"regex": "Answer: (\\w+)"}},
      {"id": "b", "kind": "llm", "prompt": "p.md", "parse": {"json_field": "answer"}},
      {"id": "c", "kind": "llm", "prompt": "p.md", "parse": {"delimiter": "Final:"}},
      {"id": "d", "kind": "llm", "prompt": "p.md", "parse": {"regex": "Nope: (x)"}}]})J",
                       {{"p.md", "${question}"}});
  ScriptedModel model([](const ModelRequest&) {
    return reply("Thinking... Answer: Paris. {\"answer\": \"Lyon\"} Final: Nice");
  });
  fapo::ChainExecutor executor(chain, model, nullptr, {"m", {}});
  auto trace = executor.run(make_case(), 0);
  REQUIRE(trace.ok());
  CHECK(trace->steps[0].output == "Paris");
  CHECK(trace->steps[1].output == "Lyon");
  CHECK(trace->steps[2].output == "Nice");
  CHECK(trace->steps[3].detail.value("parse_failed", false));
  CHECK(trace->steps[3].output == trace->steps[3].raw_reply);
}

TEST_CASE("vote takes the majority of n samples drawn with distinct sample indices") {
  auto chain = compile(R"J({"steps": [{"id": "v", "kind": "vote", "n": 5,
      "step": {"id": "ask", "kind": "llm", "prompt": "p.md"}}]})J",
                       {{"p.md", "${question}"}});
  ScriptedModel model([](const ModelRequest& request) {
    return reply(request.sample_index % 100 < 3 ? "The Bard" : "Marlowe");
  });
  fapo::ChainExecutor executor(chain, model, nullptr, {"m", {}});
  auto trace = executor.run(make_case(), 2);
  REQUIRE(trace.ok());
  CHECK(trace->final_output == "The Bard");
  CHECK(trace->model_calls == 5);
  std::set<int> indices;
  for (const auto& request : model.requests) indices.insert(request.sample_index);
  CHECK(indices == std::set<int>{200, 201, 202, 203, 204});
}

TEST_CASE("a loop stops when its condition holds and never exceeds max_iterations") {
  auto chain = compile(R"J({"steps": [{"id": "fix", "kind": "loop", "max_iterations": 4,
      "until": {"step": "check", "matches": "^ok"},
      "steps": [{"id": "check", "kind": "llm", "prompt": "p.md"}]}]})J",
                       {{"p.md", "${question} ${steps.check.output}"}});
  int calls = 0;
  ScriptedModel stops_at_two([&](const ModelRequest&) { return reply(++calls == 2 ? "ok" : "no"); });
  fapo::ChainExecutor executor(chain, stops_at_two, nullptr, {"m", {}});
  auto trace = executor.run(make_case(), 0);
  REQUIRE(trace.ok());
  CHECK(calls == 2);
  CHECK(trace->final_output == "ok");

  ScriptedModel never([](const ModelRequest&) { return reply("no"); });
  fapo::ChainExecutor bounded(chain, never, nullptr, {"m", {}});
  auto capped = bounded.run(make_case(), 0);
  REQUIRE(capped.ok());
  CHECK(never.requests.size() == 4);
}

TEST_CASE("when skips a step and next jumps forward") {
  auto chain = compile(R"J({"steps": [
      {"id": "route", "kind": "transform", "op": "template", "input": "easy", "next": "answer"},
      {"id": "hard", "kind": "transform", "op": "template", "input": "slow path"},
      {"id": "answer", "kind": "transform", "op": "template", "input": "fast",
       "when": {"step": "route", "matches": "easy"}},
      {"id": "never", "kind": "transform", "op": "template", "input": "x",
       "when": {"step": "route", "matches": "easy", "negate": true}}], "output": "answer"})J",
                       {});
  ScriptedModel model([](const ModelRequest&) { return reply(""); });
  fapo::ChainExecutor executor(chain, model, nullptr, {"m", {}});
  auto trace = executor.run(make_case(), 0);
  REQUIRE(trace.ok());
  CHECK(trace->final_output == "fast");
  REQUIRE(trace->steps.size() == 3);  // route, answer, never (skipped); hard jumped over
  CHECK(trace->steps[1].step_id == "answer");
  CHECK(trace->steps[2].skipped);
}

TEST_CASE("a model failure after retries marks the case as an infrastructure failure") {
  auto chain = compile(R"J({"steps": [{"id": "a", "kind": "llm", "prompt": "p.md"},
      {"id": "b", "kind": "llm", "prompt": "p.md"}]})J",
                       {{"p.md", "${question}"}});
  ScriptedModel model([](const ModelRequest&) -> fapo::Result<ModelReply> {
    return fapo::make_error(fapo::ErrorCode::kModelTransient, "HTTP 503 after 4 attempts");
  });
  fapo::ChainExecutor executor(chain, model, nullptr, {"m", {}});
  auto trace = executor.run(make_case(), 0);
  REQUIRE(trace.ok());
  CHECK(trace->infrastructure_failure);
  CHECK(trace->error->find("HTTP 503") != std::string::npos);
  CHECK(trace->steps.size() == 1);
  CHECK(trace->steps[0].infrastructure_error);
}

TEST_CASE("cancellation is checked before every model call") {
  auto chain = compile(R"J({"steps": [{"id": "a", "kind": "llm", "prompt": "p.md"}]})J",
                       {{"p.md", "${question}"}});
  ScriptedModel model([](const ModelRequest&) { return reply("x"); });
  fapo::ChainExecutor executor(chain, model, nullptr, {"m", {}});
  std::atomic<bool> cancel{true};
  auto trace = executor.run(make_case(), 0, &cancel);
  REQUIRE_FALSE(trace.ok());
  CHECK(trace.error().code == fapo::ErrorCode::kCancelled);
  CHECK(model.requests.empty());
}

TEST_CASE("retrieve renders its query and records the passage ids") {
  auto chain = compile(R"J({"steps": [{"id": "hop", "kind": "retrieve", "query": "${question}",
      "k": 1}]})J",
                       {});
  auto index = fapo::Bm25Index::build({{"p1", "Hamlet", "A tragedy written by Shakespeare."},
                                       {"p2", "Paris", "The capital of France."}});
  ScriptedModel model([](const ModelRequest&) { return reply(""); });
  fapo::ChainExecutor executor(chain, model, &index, {"m", {}});
  auto trace = executor.run(make_case(), 0);
  REQUIRE(trace.ok());
  CHECK(trace->steps[0].detail["passage_ids"] == nlohmann::json::array({"p1"}));
  CHECK(trace->final_output.find("Hamlet") != std::string::npos);
}

TEST_CASE("a replay runs from the given step on, reading the supplied outputs of earlier steps") {
  auto chain = compile(R"J({"steps": [
      {"id": "hop", "kind": "retrieve", "query": "${question}", "k": 1},
      {"id": "draft", "kind": "llm", "prompt": "d.md"},
      {"id": "answer", "kind": "llm", "prompt": "a.md"}], "output": "answer"})J",
                       {{"d.md", "Passages: ${steps.hop.output}"},
                        {"a.md", "Notes: ${steps.draft.output} Passages: ${steps.hop.output}"}});
  ScriptedModel model(
      [](const ModelRequest& request) { return reply("saw " + user_text(request)); });
  // No index: the retrieve step must not run.
  fapo::ChainExecutor executor(chain, model, nullptr, {"m", {}});
  fapo::ReplayStart start;
  start.from_step = "answer";
  start.outputs = {{"hop", "[1] «Hamlet | by Shakespeare»"}, {"draft", "it was a play"}};
  auto trace = executor.run_from(make_case(), 0, start);
  REQUIRE_MESSAGE(trace.ok(), (trace.ok() ? "" : trace.error().message));
  REQUIRE(model.requests.size() == 1);
  const std::string prompt = "Notes: it was a play Passages: [1] «Hamlet | by Shakespeare»";
  CHECK(user_text(model.requests[0]) == prompt);
  REQUIRE(trace->steps.size() == 3);
  CHECK(trace->steps[0].step_id == "hop");
  CHECK(trace->steps[0].detail.value("supplied", false));
  CHECK(trace->steps[1].step_id == "draft");
  CHECK(trace->steps[1].model_calls == 0);
  CHECK_FALSE(trace->steps[2].detail.contains("supplied"));
  CHECK(trace->model_calls == 1);
  CHECK(trace->tokens_in == 10);
  CHECK(trace->final_output == "saw " + prompt);
}

TEST_CASE("a resampling replay draws its first step afresh and later steps as a run would") {
  auto chain = compile(R"J({"steps": [
      {"id": "a", "kind": "llm", "prompt": "p.md"},
      {"id": "b", "kind": "vote", "n": 2, "step": {"id": "b_inner", "kind": "llm",
       "prompt": "q.md"}}], "output": "b"})J",
                       {{"p.md", "${question}"}, {"q.md", "${steps.a.output}"}});
  ScriptedModel model([](const ModelRequest&) { return reply("x"); });
  fapo::ChainExecutor executor(chain, model, nullptr, {"m", {}});
  fapo::ReplayStart start;
  start.from_step = "a";
  start.resample = 3;
  auto trace = executor.run_from(make_case(), 2, start);
  REQUIRE(trace.ok());
  REQUIRE(model.requests.size() == 3);
  CHECK(model.requests[0].sample_index == 200 + 3 * fapo::kResampleStride);
  CHECK(model.requests[1].sample_index == 200);
  CHECK(model.requests[2].sample_index == 201);
  // A replay from the first step without resampling is the run itself.
  fapo::ReplayStart plain;
  plain.from_step = "a";
  auto same = executor.run_from(make_case(), 2, plain);
  REQUIRE(same.ok());
  CHECK(model.requests[3].sample_index == 200);
  CHECK(same->steps.size() == 2);
}

TEST_CASE("a replay refuses an unknown start step and outputs for steps it computes") {
  auto chain = compile(R"J({"steps": [
      {"id": "a", "kind": "llm", "prompt": "p.md"},
      {"id": "b", "kind": "llm", "prompt": "p.md"}], "output": "b"})J",
                       {{"p.md", "${question}"}});
  ScriptedModel model([](const ModelRequest&) { return reply("x"); });
  fapo::ChainExecutor executor(chain, model, nullptr, {"m", {}});
  fapo::ReplayStart unknown;
  unknown.from_step = "c";
  auto missing = executor.run_from(make_case(), 0, unknown);
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().code == fapo::ErrorCode::kInvalidInput);
  CHECK(missing.error().message.find("'c' is not a top-level step") != std::string::npos);
  fapo::ReplayStart later;
  later.from_step = "a";
  later.outputs = {{"b", "given"}};
  auto computed = executor.run_from(make_case(), 0, later);
  REQUIRE_FALSE(computed.ok());
  CHECK(computed.error().message.find("step 'b', which is not a step before 'a'") !=
        std::string::npos);
  CHECK(model.requests.empty());
}

TEST_CASE("a replay checks when conditions against the supplied outputs") {
  auto chain = compile(R"J({"steps": [
      {"id": "a", "kind": "llm", "prompt": "p.md"},
      {"id": "b", "kind": "llm", "prompt": "p.md", "when": {"step": "a", "empty": true}},
      {"id": "c", "kind": "transform", "op": "template", "input": "[${steps.b.output}]"}],
      "output": "c"})J",
                       {{"p.md", "${question}"}});
  ScriptedModel model([](const ModelRequest&) { return reply("filled"); });
  fapo::ChainExecutor executor(chain, model, nullptr, {"m", {}});
  fapo::ReplayStart start;
  start.from_step = "b";
  start.outputs = {{"a", "not empty"}};
  auto trace = executor.run_from(make_case(), 0, start);
  REQUIRE(trace.ok());
  CHECK(model.requests.empty());
  CHECK(trace->steps[1].skipped);
  CHECK(trace->final_output == "[]");
}
