#include "engine/variant/variant_diff.h"

#include <doctest/doctest.h>

#include <string>

namespace fapo {
namespace {

using nlohmann::json;

const char* const kChain = R"json({
  "steps": [
    {"id": "hop1", "kind": "retrieve", "query": "${question}", "k": 2},
    {"id": "summarize", "kind": "llm", "prompt": "summarize.md"},
    {"id": "check", "kind": "loop", "max_iterations": 2, "steps": [
      {"id": "revise", "kind": "llm", "prompt": "revise.md"}
    ]},
    {"id": "answer", "kind": "llm", "prompt": "answer.md",
     "parse": {"regex": "Answer: (.*)"}}
  ],
  "output": "answer"
})json";

PipelineConfig pipeline(const json& chain, std::map<std::string, std::string> prompts = {}) {
  auto parsed = parse_chain(chain, "chain.json");
  REQUIRE_MESSAGE(parsed.ok(), (parsed.ok() ? "" : parsed.error().message));
  if (prompts.empty()) {
    prompts = {{"summarize.md", "User: Summarize ${steps.hop1.output}"},
               {"revise.md", "User: Revise ${steps.summarize.output}"},
               {"answer.md", "User: Answer ${question}"}};
  }
  return PipelineConfig{std::move(parsed).value(), std::move(prompts)};
}

TEST_CASE("a change of prompt text only is a prompt change naming the step that uses it") {
  PipelineConfig parent = pipeline(json::parse(kChain));
  PipelineConfig child = parent;
  child.prompts["answer.md"] = "User: Answer ${question} in five words or fewer.";
  VariantDiff diff = diff_pipelines(parent, child);
  CHECK(diff.level == Level::kPrompt);
  CHECK(diff.edited_steps == std::vector<std::string>{"answer"});
  REQUIRE(diff.changes.size() == 1);
  CHECK(diff.changes[0] == json{{"kind", "prompt"}, {"file", "answer.md"}, {"step", "answer"}});
}

TEST_CASE("changing k, max_iterations or a sampling setting is a parameter change with from and to") {
  json chain = json::parse(kChain);
  PipelineConfig parent = pipeline(chain);
  chain["steps"][0]["k"] = 5;
  chain["steps"][2]["max_iterations"] = 3;
  chain["steps"][2]["steps"][0]["temperature"] = 0.3;
  VariantDiff diff = diff_pipelines(parent, pipeline(chain));
  CHECK(diff.level == Level::kParameter);
  CHECK(diff.edited_steps == std::vector<std::string>{"hop1", "check", "revise"});
  REQUIRE(diff.changes.size() == 3);
  CHECK(diff.changes[0] == json{{"kind", "parameter"}, {"step", "hop1"}, {"field", "k"},
                                {"from", 2}, {"to", 5}});
  CHECK(diff.changes[2]["from"].is_null());
  CHECK(diff.changes[2]["to"] == 0.3);
}

TEST_CASE("a parameter change together with a prompt change is at the parameter level") {
  json chain = json::parse(kChain);
  PipelineConfig parent = pipeline(chain);
  chain["steps"][0]["k"] = 4;
  PipelineConfig child = pipeline(chain);
  child.prompts["summarize.md"] = "User: Summarize ${steps.hop1.output}, keeping every name.";
  VariantDiff diff = diff_pipelines(parent, child);
  CHECK(diff.level == Level::kParameter);
  CHECK(diff.changes.size() == 2);
}

TEST_CASE("adding a step is structural and names the new step") {
  json chain = json::parse(kChain);
  PipelineConfig parent = pipeline(chain);
  chain["steps"].insert(chain["steps"].begin() + 1,
                        json{{"id", "hop1b"}, {"kind", "retrieve"}, {"query", "${question}"}});
  VariantDiff diff = diff_pipelines(parent, pipeline(chain));
  CHECK(diff.level == Level::kStructural);
  CHECK(diff.edited_steps == std::vector<std::string>{"hop1b"});
  REQUIRE_FALSE(diff.changes.empty());
  CHECK(diff.changes[0]["detail"] == "step 'hop1b' added");
}

TEST_CASE("removing or reordering steps is structural") {
  json chain = json::parse(kChain);
  PipelineConfig parent = pipeline(chain);
  json removed = chain;
  removed["steps"].erase(2);
  PipelineConfig without_loop = pipeline(removed, {{"summarize.md", "User: S ${question}"},
                                                   {"answer.md", "User: A ${question}"}});
  without_loop.prompts = {{"summarize.md", parent.prompts["summarize.md"]},
                          {"answer.md", parent.prompts["answer.md"]}};
  VariantDiff diff = diff_pipelines(parent, without_loop);
  CHECK(diff.level == Level::kStructural);
  CHECK(std::count(diff.edited_steps.begin(), diff.edited_steps.end(), "check") == 1);
  CHECK(diff.changes.back()["detail"] == "step 'revise' removed");

  json reordered = chain;
  std::swap(reordered["steps"][1], reordered["steps"][2]);
  VariantDiff moved = diff_pipelines(parent, pipeline(reordered));
  CHECK(moved.level == Level::kStructural);
  CHECK(moved.changes[0]["detail"].get<std::string>().find("steps reordered") == 0);
}

TEST_CASE("a changed parse rule, query template or kind is structural and names the field") {
  json chain = json::parse(kChain);
  PipelineConfig parent = pipeline(chain);
  json parse_changed = chain;
  parse_changed["steps"][3]["parse"]["regex"] = "ANSWER: (.*)";
  VariantDiff diff = diff_pipelines(parent, pipeline(parse_changed));
  CHECK(diff.level == Level::kStructural);
  CHECK(diff.changes[0]["detail"] == "step 'answer' changed: parse");
  CHECK(diff.edited_steps == std::vector<std::string>{"answer"});

  json query_changed = chain;
  query_changed["steps"][0]["query"] = "${question} biography";
  CHECK(diff_pipelines(parent, pipeline(query_changed)).level == Level::kStructural);

  json output_changed = chain;
  output_changed["output"] = "summarize";
  VariantDiff output = diff_pipelines(parent, pipeline(output_changed));
  CHECK(output.level == Level::kStructural);
  CHECK(output.changes[0]["detail"] == "chain field 'output' changed");
}

TEST_CASE("moving a step into a loop is structural even with the same settings and order") {
  json chain = json::parse(kChain);
  PipelineConfig parent = pipeline(chain);
  json moved = chain;
  moved["steps"][2]["steps"].insert(moved["steps"][2]["steps"].begin(), moved["steps"][1]);
  moved["steps"].erase(1);
  // hop1, check{summarize, revise}, answer: summarize now lives inside the loop.
  VariantDiff diff = diff_pipelines(parent, pipeline(moved));
  CHECK(diff.level == Level::kStructural);
  CHECK(diff.changes[0]["detail"] == "step 'summarize' moved from the top level to 'check'");
}

TEST_CASE("identical pipelines have an empty diff") {
  PipelineConfig parent = pipeline(json::parse(kChain));
  CHECK(diff_pipelines(parent, parent).empty());
}

TEST_CASE("levels round-trip through their names and unknown names are refused") {
  for (Level level : {Level::kBaseline, Level::kPrompt, Level::kParameter, Level::kStructural}) {
    CHECK(level_from_name(level_name(level)) == level);
  }
  CHECK_FALSE(level_from_name("prompts").has_value());
  CHECK(parameter_fields_of_kind("retrieve") == std::vector<std::string>{"k"});
  CHECK(parameter_fields_of_kind("unknown").empty());
}

}  // namespace
}  // namespace fapo
