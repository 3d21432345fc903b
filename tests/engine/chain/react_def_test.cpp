// The react step as a definition: parsing chain.json, compiling its prompt, the calls the budget
// reserves for it, and the level of a change to it.
#include <doctest/doctest.h>

#include "engine/budget/budget.h"
#include "engine/chain/chain_def.h"
#include "engine/chain/pipeline.h"
#include "engine/review/parameter_ranges.h"
#include "engine/variant/variant_diff.h"
#include "tests/test_support.h"

namespace fapo {
namespace {

using nlohmann::json;

Result<ChainDef> parse(const std::string& step_fields) {
  return parse_chain(
      json::parse(R"({"steps": [{"id": "agent", "kind": "react", )" + step_fields + "}]}"),
      "tenants/qa/chain.json");
}

std::string error_of(const std::string& step_fields) {
  auto chain = parse(step_fields);
  REQUIRE_FALSE(chain.ok());
  return chain.error().message;
}

bool mentions(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

const char* const kAgentChain = R"({"steps": [
    {"id": "agent", "kind": "react", "prompt": "agent.md", "tools": ["search", "get-sum"],
     "max_calls": 4}]})";

PipelineConfig agent_pipeline(const json& chain) {
  auto parsed = parse_chain(chain, "chain.json");
  REQUIRE_MESSAGE(parsed.ok(), (parsed.ok() ? "" : parsed.error().message));
  return {std::move(*parsed), {{"agent.md", "User: Answer ${question}"}}};
}

}  // namespace

TEST_CASE("react: parses every field of a react step") {
  auto chain = parse(R"("prompt": "agent.md", "tools": ["search", "get-sum"],
      "max_iterations": 4, "max_calls_per_iteration": 2, "max_calls": 6, "tool_timeout_s": 2.5,
      "max_result_chars": 500, "search_k": 7, "tool_choice": "get-sum",
      "temperature": 0.2, "top_p": 0.9, "max_tokens": 300, "parse": {"delimiter": "Answer:"})");
  REQUIRE_MESSAGE(chain.ok(), (chain.ok() ? "" : chain.error().message));
  const StepDef& step = chain->steps[0];
  CHECK(step.kind == StepKind::kReact);
  CHECK(std::string(step_kind_name(step.kind)) == "react");
  CHECK(step.prompt == "agent.md");
  CHECK(step.tools == std::vector<std::string>{"search", "get-sum"});
  CHECK(step.max_iterations == 4);
  CHECK(step.max_calls_per_iteration == 2);
  CHECK(step.max_calls == 6);
  CHECK(step.tool_timeout_s == 2.5);
  CHECK(step.max_result_chars == 500);
  CHECK(step.search_k == 7);
  CHECK(step.tool_choice == "get-sum");
  CHECK(step.temperature == 0.2);
  CHECK(step.top_p == 0.9);
  CHECK(step.max_tokens == 300);
  CHECK(step.parse.mode == ParseSpec::Mode::kDelimiter);
}

TEST_CASE("react: a react step without limits takes the documented defaults") {
  auto chain = parse(R"("prompt": "agent.md", "tools": ["search"])");
  REQUIRE(chain.ok());
  const StepDef& step = chain->steps[0];
  CHECK(step.max_iterations == 5);
  CHECK(step.max_calls_per_iteration == 3);
  CHECK(step.max_calls == 8);
  CHECK(step.tool_timeout_s == 10);
  CHECK(step.max_result_chars == 4000);
  CHECK(step.search_k == 3);
  CHECK(step.tool_choice.empty());
  CHECK(step.parse.mode == ParseSpec::Mode::kNone);
}

TEST_CASE("react: a react step needs a prompt and a non-empty list of unique, valid tool names") {
  std::string missing = error_of(R"("prompt": "a.md")");
  CHECK(mentions(missing, "tenants/qa/chain.json: field 'steps[0].tools': is required"));
  CHECK(mentions(error_of(R"("prompt": "a.md", "tools": [])"),
                 "field 'steps[0].tools': must be a non-empty list of tool names"));
  CHECK(mentions(error_of(R"("prompt": "a.md", "tools": "search")"),
                 "field 'steps[0].tools': must be a non-empty list"));
  std::string items = error_of(R"("prompt": "a.md",
      "tools": ["search", 3, "has space", "search", ""])");
  CHECK(mentions(items, "field 'steps[0].tools[1]': must be a string, got number"));
  CHECK(mentions(items, "field 'steps[0].tools[2]': 'has space' must match ^[A-Za-z0-9_-]{1,64}$"));
  CHECK(mentions(items, "field 'steps[0].tools[3]': duplicate tool 'search'"));
  CHECK(mentions(items, "field 'steps[0].tools[4]': '' must match"));
  CHECK(mentions(error_of(R"("prompt": "a.md", "tools": [")" + std::string(65, 'a') + "\"]"),
                 "field 'steps[0].tools[0]'"));
  CHECK(mentions(error_of(R"("tools": ["search"])"), "field 'steps[0].prompt': is required"));
}

TEST_CASE("react: out-of-range react limits are reported together, each with its path") {
  std::string message = error_of(R"("prompt": "a.md", "tools": ["search"],
      "max_iterations": 21, "max_calls_per_iteration": 0, "max_calls": 51,
      "tool_timeout_s": 0.05, "max_result_chars": 99, "search_k": 21, "temperature": 3)");
  CHECK(mentions(message, "field 'steps[0].max_iterations': must be between 1 and 20, got 21"));
  CHECK(mentions(message,
                 "field 'steps[0].max_calls_per_iteration': must be between 1 and 10, got 0"));
  CHECK(mentions(message, "field 'steps[0].max_calls': must be between 1 and 50, got 51"));
  CHECK(mentions(message,
                 "field 'steps[0].tool_timeout_s': must be between 0.1 and 300.0, got 0.05"));
  CHECK(mentions(message,
                 "field 'steps[0].max_result_chars': must be between 100 and 100000, got 99"));
  CHECK(mentions(message, "field 'steps[0].search_k': must be between 1 and 20, got 21"));
  CHECK(mentions(message, "field 'steps[0].temperature'"));
  CHECK(mentions(error_of(R"("prompt": "a.md", "tools": ["search"], "max_calls": 2.5)"),
                 "field 'steps[0].max_calls': must be an integer, got number"));
}

TEST_CASE("react: tool_choice must be auto, required or one of the step's tools") {
  CHECK(parse(R"("prompt": "a.md", "tools": ["search"], "tool_choice": "required")").ok());
  CHECK(parse(R"("prompt": "a.md", "tools": ["search"], "tool_choice": "auto")").ok());
  std::string message =
      error_of(R"("prompt": "a.md", "tools": ["search"], "tool_choice": "fetch")");
  CHECK(mentions(message,
                 "field 'steps[0].tool_choice': 'fetch' must be \"auto\", \"required\" "
                 "or one of the step's tools (search)"));
  CHECK(mentions(error_of(R"("prompt": "a.md", "tools": ["search"], "tool_choice": "none")"),
                 "'none' must be"));
}

TEST_CASE("react: a react step may sit in a loop body but not inside a vote") {
  auto in_loop = parse_chain(json::parse(R"({"steps": [{"id": "l", "kind": "loop",
      "steps": [{"id": "agent", "kind": "react", "prompt": "a.md", "tools": ["search"]}]}]})"),
                             "chain.json");
  CHECK(in_loop.ok());
  auto in_vote = parse_chain(json::parse(R"({"steps": [{"id": "v", "kind": "vote", "n": 3,
      "step": {"id": "agent", "kind": "react", "prompt": "a.md", "tools": ["search"]}}]})"),
                             "chain.json");
  REQUIRE_FALSE(in_vote.ok());
  CHECK(mentions(in_vote.error().message, "the inner step of a vote must be an llm step"));
}

TEST_CASE(
    "react: the prompt of a react step is loaded, compiled and checked like an llm "
    "step's") {
  testing::TempDir dir;
  testing::write_text(dir.path() / "chain.json", kAgentChain);
  testing::write_text(dir.path() / "prompts" / "agent.md",
                      "System:\nUse the tools.\nUser:\nQuestion: ${questoin}\n");
  auto config = load_pipeline(dir.path(), "tenants/qa");
  REQUIRE_MESSAGE(config.ok(), (config.ok() ? "" : config.error().message));
  CHECK(config->prompts.count("agent.md") == 1);
  auto compiled = CompiledChain::compile(*config, "tenants/qa");
  REQUIRE(compiled.ok());
  const StepDef& step = compiled->def().steps[0];
  CHECK(compiled->prompt(step).sections().size() == 2);
  Diagnostics found = compiled->check_variables({"question"});
  REQUIRE(found.size() == 1);
  CHECK(mentions(found[0].to_string(), "${questoin}"));
  CHECK(mentions(found[0].to_string(), "did you mean"));

  testing::TempDir empty;
  testing::write_text(empty.path() / "chain.json", kAgentChain);
  auto missing = load_pipeline(empty.path(), "tenants/qa");
  REQUIRE_FALSE(missing.ok());
  CHECK(mentions(missing.error().message, "prompt file prompts/agent.md does not exist"));
}

TEST_CASE("react: the budget counts max_iterations model calls for a react step") {
  auto chain = parse_chain(json::parse(R"({"steps": [
      {"id": "first", "kind": "llm", "prompt": "a.md"},
      {"id": "agent", "kind": "react", "prompt": "a.md", "tools": ["search"], "max_iterations": 4},
      {"id": "again", "kind": "loop", "max_iterations": 2, "steps": [
        {"id": "inner", "kind": "react", "prompt": "a.md", "tools": ["search"]}]}]})"),
                           "chain.json");
  REQUIRE(chain.ok());
  CHECK(max_calls_per_case(*chain) == 1 + 4 + 2 * 5);
}

TEST_CASE(
    "react: changing a react limit is a parameter change, its tools or tool_choice a "
    "structural one") {
  const json chain = json::parse(kAgentChain);
  PipelineConfig parent = agent_pipeline(chain);

  json limits = chain;
  limits["steps"][0]["max_calls"] = 6;
  limits["steps"][0]["search_k"] = 5;
  limits["steps"][0]["tool_timeout_s"] = 20.5;
  VariantDiff parameter = diff_pipelines(parent, agent_pipeline(limits));
  CHECK(parameter.level == Level::kParameter);
  REQUIRE(parameter.changes.size() == 3);
  CHECK(parameter.changes[0] == json{{"kind", "parameter"},
                                     {"step", "agent"},
                                     {"field", "max_calls"},
                                     {"from", 4},
                                     {"to", 6}});
  CHECK(parameter.edited_steps == std::vector<std::string>{"agent"});

  json tools = chain;
  tools["steps"][0]["tools"] = {"search"};
  VariantDiff structural = diff_pipelines(parent, agent_pipeline(tools));
  CHECK(structural.level == Level::kStructural);
  REQUIRE_FALSE(structural.changes.empty());
  CHECK(structural.changes[0]["detail"] == "step 'agent' changed: tools");

  json choice = chain;
  choice["steps"][0]["tool_choice"] = "search";
  CHECK(diff_pipelines(parent, agent_pipeline(choice)).level == Level::kStructural);

  PipelineConfig reworded = parent;
  reworded.prompts["agent.md"] = "User: Search first, then answer ${question}";
  VariantDiff prompt = diff_pipelines(parent, reworded);
  CHECK(prompt.level == Level::kPrompt);
  CHECK(prompt.edited_steps == std::vector<std::string>{"agent"});
  CHECK(prompt.changes[0]["step"] == "agent");
}

TEST_CASE("react: a react step's limits are parameters with sane bounds and tenant ranges") {
  const std::vector<std::string> fields = parameter_fields_of_kind("react");
  for (const char* field : {"max_iterations", "max_calls_per_iteration", "max_calls",
                            "tool_timeout_s", "max_result_chars", "search_k", "temperature"}) {
    CHECK_MESSAGE(std::count(fields.begin(), fields.end(), field) == 1, field);
  }
  CHECK(std::count(fields.begin(), fields.end(), "tools") == 0);

  auto chain = parse(R"("prompt": "a.md", "tools": ["search"], "temperature": 0.5)");
  REQUIRE(chain.ok());
  auto values = parameter_values(chain->steps[0]);
  CHECK(std::count(values.begin(), values.end(), std::make_pair(std::string("max_calls"), 8.0)));
  CHECK(std::count(values.begin(), values.end(), std::make_pair(std::string("search_k"), 3.0)));
  CHECK(std::count(values.begin(), values.end(),
                   std::make_pair(std::string("tool_timeout_s"), 10.0)));
  CHECK(std::count(values.begin(), values.end(), std::make_pair(std::string("temperature"), 0.5)));
  CHECK(values.size() == 7);

  CHECK(sane_range("max_calls").allows(50));
  CHECK_FALSE(sane_range("max_calls").allows(51));
  CHECK(sane_range("max_iterations").allows(20));
  CHECK_FALSE(sane_range("tool_timeout_s").allows(0.05));
  CHECK_FALSE(sane_range("max_result_chars").allows(99));
  CHECK_FALSE(sane_range("search_k").allows(21));

  auto ranges = parse_parameter_ranges(
      json::parse(R"({"max_calls": {"max": 10}, "agent.search_k": {"values": [2, 4]}})"),
      "tenant.json");
  REQUIRE_MESSAGE(ranges.ok(), (ranges.ok() ? "" : ranges.error().message));
  REQUIRE(ranges->find("agent", "search_k") != nullptr);
  CHECK_FALSE(ranges->find("agent", "search_k")->allows(3));
  CHECK(ranges->find("other", "max_calls")->allows(10));
}

}  // namespace fapo
