#include "engine/attribution/tool_attribution.h"

#include <filesystem>
#include <set>

#include <doctest/doctest.h>

#include "engine/attribution/clusters.h"
#include "engine/attribution/confirmation.h"
#include "engine/attribution/run_attribution.h"
#include "engine/chain/pipeline.h"
#include "engine/run/run_store.h"
#include "tests/test_support.h"

namespace fapo {
namespace {

using nlohmann::json;

const std::vector<std::string> kOffered = {"search", "get-sum"};

Case sum_case(const std::string& id = "sum1") {
  Case item;
  item.case_id = id;
  item.context = {{"question", "What is the sum of 17 and 25?"}};
  item.expected = {{"answer", "42"},
                   {"tool_calls", {{{"name", "get-sum"}, {"arguments", {{"a", 17}, {"b", 25}}}}}}};
  return item;
}

// Needs two searches, then the sum of what they found.
Case length_case() {
  Case item;
  item.case_id = "len1";
  item.context = {{"question", "How long are the Orvell Bridge and the Kesk Tunnel together?"}};
  item.expected = {
      {"answer", "1250"},
      {"tool_calls",
       {{{"name", "search"}, {"arguments", {{"query", "Orvell Bridge"}}}},
        {{"name", "search"}, {"arguments", {{"query", "Kesk Tunnel"}}}},
        {{"name", "get-sum"}, {"arguments", json::object()}}}}};
  return item;
}

json call(int iteration, const std::string& tool, json arguments,
          const std::string& error_kind = "", const std::string& error = "") {
  json out = {{"iteration", iteration}, {"call_id", "call_" + std::to_string(iteration)},
              {"tool", tool},           {"arguments", std::move(arguments)},
              {"result_chars", 12},     {"truncated", false},
              {"latency_ms", 4}};
  if (!error_kind.empty()) {
    out["error_kind"] = error_kind;
    out["error"] = error;
  }
  return out;
}

// One react step, "agent", as the executor records it; `results` holds one "tool" message per
// call, in order.
struct AgentRun {
  json calls = json::array();
  std::vector<std::string> results;
  std::string output;
  std::string stop_reason = "answer";
  json extra_detail = json::object();
  json extra_step = json::object();
};

json react_line(const Case& item, const AgentRun& run) {
  json messages = json::array(
      {{{"role", "system"}, {"content", "Answer with the help of your tools."}},
       {{"role", "user"}, {"content", item.context.begin()->second}}});
  for (const std::string& result : run.results) {
    messages.push_back({{"role", "assistant"}, {"content", ""}});
    messages.push_back({{"role", "tool"}, {"content", result}});
  }
  messages.push_back({{"role", "assistant"}, {"content", run.output}});
  json detail = {{"trajectory", run.calls},
                 {"stop_reason", run.stop_reason},
                 {"iterations", static_cast<int>(run.calls.size()) + 1},
                 {"tool_calls", run.calls.size()}};
  detail.update(run.extra_detail);
  json step = {{"step_id", "agent"}, {"kind", "react"},        {"output", run.output},
               {"messages", messages}, {"detail", detail}, {"model_calls", 2}};
  step.update(run.extra_step);
  return {{"case_id", item.case_id},
          {"trial", 0},
          {"score", 0},
          {"final_output", run.output},
          {"trace", {{"steps", json::array({step})}}}};
}

Attribution attribute(const Case& item, const json& line,
                      const std::optional<std::vector<std::string>>& offered = kOffered) {
  ObservedCase observed = observe_result_line(line);
  if (offered) set_offered_tools(observed, {{"agent", *offered}});
  return attribute_case(item, case_evidence(item, AnswerFields{}), observed);
}

bool mentions(const Attribution& attribution, const std::string& text) {
  for (const std::string& line : attribution.evidence) {
    if (line.find(text) != std::string::npos) return true;
  }
  return false;
}

TEST_CASE("blames each kind of unrecovered tool failure on the tool and the react step") {
  const std::map<std::string, ChangeLevel> levels = {
      {"timeout", ChangeLevel::kParameter},       {"unknown_tool", ChangeLevel::kStructural},
      {"invalid_arguments", ChangeLevel::kPrompt}, {"permission", ChangeLevel::kStructural},
      {"other", ChangeLevel::kStructural}};
  for (const auto& [kind, level] : levels) {
    INFO(kind);
    AgentRun run;
    run.calls.push_back(call(1, "get-sum", {{"a", 17}, {"b", 25}}, kind, "get-sum: " + kind));
    run.results = {"error: the tool failed"};
    run.output = "I cannot determine the sum.";
    Attribution result = attribute(sum_case(), react_line(sum_case(), run));
    CHECK(result.failure_class == FailureClass::kToolFailure);
    CHECK(result.step_id == "agent");
    CHECK(result.step_kind == "react");
    CHECK(result.tool == "get-sum");
    CHECK(result.tool_error == kind);
    CHECK(result.tool_use == ToolUsePattern::kNone);
    CHECK(result.confidence == doctest::Approx(0.9));
    CHECK(mentions(result, "failed (" + kind + "): \"get-sum: " + kind + "\""));
    CHECK(suggested_level(result) == level);
    json out = to_json(result);
    CHECK(out["kind"] == kind);
    CHECK(out["tool"] == "get-sum");
  }
}

TEST_CASE("blames a tool whose server failed to start as unavailable") {
  AgentRun run;
  run.output = "I cannot determine the sum.";
  run.extra_detail = {{"unavailable_tools", {{"get-sum", "server 'math' exited with status 1"}}}};
  Attribution result = attribute(sum_case(), react_line(sum_case(), run));
  CHECK(result.failure_class == FailureClass::kToolFailure);
  CHECK(result.tool == "get-sum");
  CHECK(result.tool_error == "unavailable");
  CHECK(mentions(result, "exited with status 1"));
  CHECK(suggested_level(result) == ChangeLevel::kStructural);

  // An unavailable tool the case does not need and the agent never called explains nothing.
  run.extra_detail = {{"unavailable_tools", {{"search", "server 'docs' exited"}}}};
  Attribution unneeded = attribute(sum_case(), react_line(sum_case(), run));
  CHECK(unneeded.failure_class == FailureClass::kToolUse);
  CHECK(unneeded.tool_use == ToolUsePattern::kMissingTool);
}

TEST_CASE("does not blame a tool failure the agent recovered from") {
  AgentRun run;
  run.calls.push_back(call(1, "get-sum", {{"a", 17}, {"b", 25}}, "timeout", "no reply in 10 s"));
  run.calls.push_back(call(2, "get-sum", {{"a", 17}, {"b", 25}}));
  run.results = {"error: timeout", "42"};
  run.output = "43";
  Attribution result = attribute(sum_case(), react_line(sum_case(), run));
  CHECK(result.failure_class == FailureClass::kReasoning);
  CHECK(result.step_id == "agent");
  CHECK(result.tool_error.empty());

  // Nor a failure of a tool the case does not need, when it never came back to the right one.
  AgentRun wrong;
  wrong.calls.push_back(call(1, "search", {{"query", "sum 17 25"}}, "timeout", "no reply"));
  wrong.results = {"error: timeout"};
  wrong.output = "40";
  Attribution blamed = attribute(sum_case(), react_line(sum_case(), wrong));
  CHECK(blamed.failure_class == FailureClass::kToolUse);
  CHECK(blamed.tool_use == ToolUsePattern::kWrongTool);
}

TEST_CASE("a tool failure does not hide an answer that reached the final output") {
  AgentRun run;
  run.calls.push_back(call(1, "search", {{"query", "sum"}}, "timeout", "no reply"));
  run.calls.push_back(call(2, "get-sum", {{"a", 17}, {"b", 25}}, "other", "crashed"));
  run.results = {"error", "error"};
  run.output = "Both tools failed, but adding them myself the sum of 17 and 25 gives 42.";
  Attribution result = attribute(sum_case(), react_line(sum_case(), run));
  CHECK(result.failure_class == FailureClass::kFormat);
  CHECK(result.step_id == "agent");
}

TEST_CASE("a model failure of the agent wins over its tool failures") {
  AgentRun run;
  run.calls.push_back(call(1, "get-sum", {{"a", 17}, {"b", 25}}, "timeout", "no reply"));
  run.results = {"error: timeout"};
  run.extra_step = {{"error", "HTTP 503 after 4 retries"}, {"infrastructure_error", true}};
  json line = react_line(sum_case(), run);
  line["infrastructure_failure"] = true;
  line.erase("score");
  Attribution result = attribute(sum_case(), line);
  CHECK(result.failure_class == FailureClass::kInfrastructure);
  CHECK(result.step_id == "agent");
  CHECK(result.tool.empty());
}

TEST_CASE("blames a tool the case does not need, called instead of the one it needs") {
  AgentRun run;
  run.calls.push_back(call(1, "search", {{"query", "sum of 17 and 25"}}));
  run.results = {"[1] \u00abAddition | Adding two numbers gives their sum\u00bb"};
  run.output = "40";
  Attribution result = attribute(sum_case(), react_line(sum_case(), run));
  CHECK(result.failure_class == FailureClass::kToolUse);
  CHECK(result.tool_use == ToolUsePattern::kWrongTool);
  CHECK(result.tool == "get-sum");  // the needed tool it skipped
  CHECK(mentions(result, "called 'search', which the case does not need"));
  CHECK(suggested_level(result) == ChangeLevel::kPrompt);
  CHECK(to_json(result)["tool_use"] == "wrong_tool");
}

TEST_CASE("blames an agent that answered without calling any tool") {
  AgentRun run;
  run.output = "40";
  Attribution result = attribute(sum_case(), react_line(sum_case(), run));
  CHECK(result.failure_class == FailureClass::kToolUse);
  CHECK(result.tool_use == ToolUsePattern::kMissingTool);
  CHECK(result.tool == "get-sum");
  CHECK(result.evidence[0] == "step 'agent' (react) answered without calling any tool");
  CHECK(suggested_level(result) == ChangeLevel::kPrompt);
}

TEST_CASE("blames the same call repeated with the same arguments") {
  AgentRun run;
  run.calls.push_back(call(1, "get-sum", {{"a", 17}, {"b", 52}}));
  run.calls.push_back(call(2, "get-sum", {{"b", 52.0}, {"a", 17}}));  // the same, reordered
  run.calls.push_back(call(3, "get-sum", {{"a", 17}, {"b", 52}}));
  run.results = {"69", "69", "69"};
  run.output = "69";
  Attribution result = attribute(sum_case(), react_line(sum_case(), run));
  CHECK(result.failure_class == FailureClass::kToolUse);
  CHECK(result.tool_use == ToolUsePattern::kRepeatedCall);
  CHECK(result.tool == "get-sum");
  CHECK(mentions(result, "3 times with the same arguments"));
  CHECK(suggested_level(result) == ChangeLevel::kPrompt);
}

TEST_CASE("blames the arguments when the needed tool ran with other ones") {
  AgentRun run;
  run.calls.push_back(call(1, "get-sum", {{"a", 17}, {"b", 52}}));
  run.results = {"69"};
  run.output = "69";
  Attribution result = attribute(sum_case(), react_line(sum_case(), run));
  CHECK(result.failure_class == FailureClass::kToolUse);
  CHECK(result.tool_use == ToolUsePattern::kWrongArguments);
  CHECK(result.tool == "get-sum");
}

TEST_CASE("puts an agent stopped by max_iterations before the needed tool on the parameters") {
  AgentRun run;
  run.calls.push_back(call(1, "search", {{"query", "Orvell Bridge length"}}));
  run.calls.push_back(call(2, "search", {{"query", "Kesk Tunnel length"}}));
  run.results = {"[1] \u00abOrvell Bridge | 800 m long\u00bb",
                 "[1] \u00abKesk Tunnel | 450 m long\u00bb"};
  run.output = "";
  run.stop_reason = "max_iterations";
  Attribution result = attribute(length_case(), react_line(length_case(), run));
  CHECK(result.failure_class == FailureClass::kToolUse);
  CHECK(result.tool_use == ToolUsePattern::kLimitReached);
  CHECK(result.tool == "get-sum");
  CHECK(mentions(result, "stopped by max_iterations"));
  CHECK(suggested_level(result) == ChangeLevel::kParameter);
  CHECK(level_addresses(ChangeLevel::kParameter, result));
  CHECK_FALSE(level_addresses(ChangeLevel::kPrompt, result));
}

TEST_CASE("limit-refused calls are the agent's limits, not tool failures") {
  AgentRun run;
  run.calls.push_back(call(1, "search", {{"query", "Orvell Bridge"}}));
  run.calls.push_back(call(1, "search", {{"query", "Kesk Tunnel"}}));
  run.calls.push_back(call(1, "get-sum", {{"a", 800}, {"b", 450}}, "limit",
                           "max_calls_per_iteration (2) reached"));
  run.results = {"[1] \u00abOrvell Bridge | 800 m long\u00bb",
                 "[1] \u00abKesk Tunnel | 450 m long\u00bb", "refused: limit"};
  run.output = "1200";
  Attribution result = attribute(length_case(), react_line(length_case(), run));
  CHECK(result.failure_class == FailureClass::kToolUse);
  CHECK(result.tool_use == ToolUsePattern::kLimitReached);
  CHECK(result.tool_error.empty());
  CHECK(mentions(result, "refused by the step's call limits"));
}

TEST_CASE("calls a needed tool the step does not offer a structural failure") {
  AgentRun run;
  run.calls.push_back(call(1, "search", {{"query", "sum of 17 and 25"}}));
  run.results = {"[1] \u00abAddition | Adding two numbers gives their sum\u00bb"};
  run.output = "40";
  Attribution result =
      attribute(sum_case(), react_line(sum_case(), run), std::vector<std::string>{"search"});
  CHECK(result.failure_class == FailureClass::kToolUse);
  CHECK(result.tool_use == ToolUsePattern::kToolNotOffered);
  CHECK(result.tool == "get-sum");
  CHECK(mentions(result, "it offers 'search'"));
  CHECK(suggested_level(result) == ChangeLevel::kStructural);
  CHECK(level_addresses(ChangeLevel::kStructural, result));
  CHECK_FALSE(level_addresses(ChangeLevel::kPrompt, result));

  // When the run's chain could not be found, what the step offers is unknown: no such verdict.
  Attribution unknown = attribute(sum_case(), react_line(sum_case(), run), std::nullopt);
  CHECK(unknown.tool_use == ToolUsePattern::kWrongTool);
}

TEST_CASE("calls a wordy final answer after the right tools a format failure of the agent") {
  AgentRun run;
  run.calls.push_back(call(1, "get-sum", {{"a", 17}, {"b", 25}}));
  run.results = {"42"};
  run.output = "The sum of 17 and 25 is 42, as computed with the get-sum tool just now.";
  Attribution result = attribute(sum_case(), react_line(sum_case(), run));
  CHECK(result.failure_class == FailureClass::kFormat);
  CHECK(result.step_id == "agent");
  CHECK(result.pattern == OutputPattern::kTooLong);
  CHECK(result.tool_use == ToolUsePattern::kNone);

  // A reply the step's parse rule could not read is a format failure too.
  AgentRun unparsed = run;
  unparsed.output = "";
  unparsed.extra_detail = {{"parse_failed", true}};
  unparsed.extra_step = {{"raw_reply", "Result => 42"}};
  Attribution parsed = attribute(sum_case(), react_line(sum_case(), unparsed));
  CHECK(parsed.failure_class == FailureClass::kFormat);
  CHECK(mentions(parsed, "parse rule found nothing"));
}

TEST_CASE("blames the agent's reasoning when a tool result held the answer it did not give") {
  AgentRun run;
  run.calls.push_back(call(1, "get-sum", {{"a", 17}, {"b", 25}}));
  run.results = {"{\"sum\": 42}"};
  run.output = "43";
  Attribution result = attribute(sum_case(), react_line(sum_case(), run));
  CHECK(result.failure_class == FailureClass::kReasoning);
  CHECK(result.step_id == "agent");
  CHECK(result.step_kind == "react");
  CHECK(mentions(result, "the result of tool 'get-sum' held the answer \"42\""));
  CHECK(suggested_level(result) == ChangeLevel::kPrompt);
}

TEST_CASE("without expected tool calls a failed tool is still blamed, with less confidence") {
  Case item = sum_case();
  item.expected.erase("tool_calls");
  AgentRun run;
  run.calls.push_back(call(1, "get-sum", {{"a", 17}, {"b", 25}}, "permission", "denied"));
  run.results = {"error: denied"};
  run.output = "40";
  Attribution result = attribute(item, react_line(item, run));
  CHECK(result.failure_class == FailureClass::kToolFailure);
  CHECK(result.tool_error == "permission");
  CHECK(result.confidence < 0.9);
}

TEST_CASE("the simulated model's record in a react step's detail changes nothing") {
  AgentRun run;
  run.calls.push_back(call(1, "search", {{"query", "sum of 17 and 25"}}));
  run.results = {"nothing"};
  run.output = "40";
  AgentRun recorded = run;
  recorded.extra_detail = {{"sim", {{"rule", "agent_skips_tool"}, {"noise", false}}}};
  Attribution plain = attribute(sum_case(), react_line(sum_case(), run));
  Attribution with_record = attribute(sum_case(), react_line(sum_case(), recorded));
  CHECK(to_json(plain) == to_json(with_record));
  CHECK(plain.tool_use == ToolUsePattern::kWrongTool);
}

TEST_CASE("the scan for the simulated model's record covers the tool attribution sources") {
  std::set<std::string> names;
  const auto dir = testing::source_dir() / "engine" / "attribution";
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    names.insert(entry.path().filename().string());
  }
  for (const char* file : {"tool_attribution.h", "tool_attribution.cpp", "agent_trace.h",
                           "agent_trace.cpp"}) {
    INFO(file);
    CHECK(names.count(file) == 1);
    const std::string text = testing::read_text(dir / file);
    CHECK(text.find("(\"sim\")") == std::string::npos);
    CHECK(text.find("[\"sim\"]") == std::string::npos);
    CHECK(text.find("sim_trace") == std::string::npos);
  }
}

// Attributions of several cases of one run, for clusters and reports.
std::vector<Attribution> mixed_failures() {
  std::vector<Attribution> out;
  for (int i = 0; i < 5; ++i) {
    Case item = sum_case("timeout" + std::to_string(i));
    AgentRun run;
    run.calls.push_back(call(1, "get-sum", {{"a", 17}, {"b", 25}}, "timeout", "no reply"));
    run.results = {"error"};
    // Different final outputs: a tool failure's cluster does not split by them.
    run.output = i % 2 ? "" : "I cannot tell.";
    out.push_back(attribute(item, react_line(item, run)));
  }
  Case other = sum_case("invalid0");
  AgentRun invalid;
  invalid.calls.push_back(call(1, "get-sum", {{"a", "x"}}, "invalid_arguments", "a: number"));
  invalid.results = {"error"};
  out.push_back(attribute(other, react_line(other, invalid)));
  for (int i = 0; i < 2; ++i) {
    Case item = sum_case("wrong" + std::to_string(i));
    AgentRun run;
    run.calls.push_back(call(1, "search", {{"query", "sum"}}));
    run.results = {"nothing"};
    run.output = "40";
    out.push_back(attribute(item, react_line(item, run)));
  }
  return out;
}

TEST_CASE("clusters tool failures by kind, tool and step, and tool use by pattern") {
  std::vector<Attribution> failures = mixed_failures();
  std::map<std::string, double> means;
  for (const Attribution& attribution : failures) means[attribution.case_id] = 0;
  means["solved"] = 100;
  FailureAnalysis analysis = analyse_failures(failures, means, 100, 3);
  REQUIRE(analysis.clusters.size() == 3);
  const Cluster& timeouts = analysis.clusters[0];
  CHECK(timeouts.failure_class == FailureClass::kToolFailure);
  CHECK(timeouts.step_id == "agent");
  CHECK(timeouts.tool == "get-sum");
  CHECK(timeouts.tool_error == "timeout");
  CHECK(cluster_pattern(timeouts) == "timeout");
  CHECK(timeouts.count == 5);
  CHECK(timeouts.level == ChangeLevel::kParameter);
  CHECK(timeouts.example_case_ids.size() == 3);
  const Cluster& wrong = analysis.clusters[1];
  CHECK(wrong.failure_class == FailureClass::kToolUse);
  CHECK(cluster_pattern(wrong) == "wrong_tool");
  CHECK(wrong.count == 2);
  CHECK(wrong.level == ChangeLevel::kPrompt);
  CHECK(cluster_pattern(analysis.clusters[2]) == "invalid_arguments");
  CHECK(analysis.clusters[2].level == ChangeLevel::kPrompt);
  // Prompt addresses wrong_tool and invalid_arguments (3), parameter the timeouts (5).
  CHECK(analysis.ceilings[0].addressable == 3);
  CHECK(analysis.ceilings[1].addressable == 5);
  // Prompt gains 3 of 9 cases, parameter 5: at least half of the best, so prompt comes first.
  CHECK(analysis.recommended == ChangeLevel::kPrompt);
}

RunAttribution report_of(const std::string& split) {
  RunAttribution report;
  report.tenant_id = "tools";
  report.run_id = "r1";
  report.split = split;
  report.attributions = mixed_failures();
  for (const Attribution& attribution : report.attributions) {
    report.case_means[attribution.case_id] = 0;
  }
  report.analysis = analyse_failures(report.attributions, report.case_means, 100, 5);
  return report;
}

TEST_CASE("the report names each tool failure cluster's kind, tool and step") {
  json full = to_json(report_of("train"), CaseAccess::kFull);
  REQUIRE(full["clusters"].size() == 3);
  const json& first = full["clusters"][0];
  CHECK(first["class"] == "tool_failure");
  CHECK(first["step"] == "agent");
  CHECK(first["step_kind"] == "react");
  CHECK(first["kind"] == "timeout");
  CHECK(first["tool"] == "get-sum");
  CHECK(first["pattern"] == "timeout");
  CHECK(first["count"] == 5);
  CHECK(first["level"] == "parameter");
  CHECK(first["example_case_ids"].size() == 5);
  CHECK(full["clusters"][1]["pattern"] == "wrong_tool");
  CHECK_FALSE(full["clusters"][1].contains("kind"));
  CHECK(full["attributions"][0]["kind"] == "timeout");
}

TEST_CASE("validation reports of tool failures keep counts only and fold small clusters") {
  json out = to_json(report_of("validation"), CaseAccess::kAggregatesOnly);
  CHECK_FALSE(out.contains("attributions"));
  REQUIRE(out["clusters"].size() == 1);
  const json& listed = out["clusters"][0];
  CHECK(listed["kind"] == "timeout");
  CHECK(listed["tool"] == "get-sum");
  CHECK(listed["step"] == "agent");
  CHECK(listed["count"] == 5);
  CHECK_FALSE(listed.contains("example_case_ids"));
  CHECK(out["unlisted_clusters"] == 2);
  CHECK(out["unlisted_failures"] == 3);
  const std::string text = out.dump();
  for (const char* id : {"timeout0", "invalid0", "wrong0", "sum1"}) {
    CHECK(text.find(id) == std::string::npos);
  }
  CHECK(text.find("no reply") == std::string::npos);  // no evidence text
}

TEST_CASE("replays tool use failures by resampling and leaves tool failures alone") {
  CHECK(is_confirmable(FailureClass::kToolUse));
  CHECK_FALSE(is_confirmable(FailureClass::kToolFailure));
  CHECK(failure_class_from_name("tool_use") == FailureClass::kToolUse);
  CHECK(std::string(tool_use_pattern_name(ToolUsePattern::kLimitReached)) == "limit_reached");
}

TEST_CASE("lists the tools each react step of a chain offers") {
  ChainDef chain;
  StepDef agent;
  agent.id = "agent";
  agent.kind = StepKind::kReact;
  agent.tools = {"search", "get-sum"};
  StepDef answer;
  answer.id = "answer";
  chain.steps = {agent, answer};
  auto offered = offered_tools_of(chain);
  REQUIRE(offered.size() == 1);
  CHECK(offered["agent"] == kOffered);
}

// A tenant whose chain offers only "search", and a stored train run of it.
std::string store_agent_run(const Workspace& workspace, const std::vector<json>& lines) {
  const fs::path dir = workspace.tenant_dir("tools");
  testing::write_text(dir / "chain.json",
                      R"({"steps": [{"id": "agent", "kind": "react", "prompt": "agent.md",)"
                      R"( "tools": ["search"]}], "output": "agent"})");
  testing::write_text(dir / "prompts" / "agent.md", "Answer: ${question}\n");
  std::string dataset;
  for (const json& line : lines) {
    Case item = sum_case(line["case_id"]);
    dataset += json{{"case_id", item.case_id},
                    {"context", item.context},
                    {"expected", item.expected}}.dump() + "\n";
  }
  testing::write_text(dir / "dataset.jsonl", dataset);
  auto pipeline = load_pipeline(dir, "tenants/tools");
  REQUIRE_MESSAGE(pipeline.ok(), (pipeline.ok() ? "" : pipeline.error().message));
  RunPlan plan;
  plan.variant_id = pipeline->content_hash();
  plan.split = "train";
  for (const json& line : lines) plan.case_ids.push_back(line["case_id"]);
  plan.settings = {{"scorer", {{"type", "exact_match"}}}};
  RunStore store(workspace, "tools");
  auto writer = store.create(plan);
  REQUIRE(writer.ok());
  for (const json& line : lines) REQUIRE(writer->append_result(line).ok());
  REQUIRE(writer->finish(json::object(), "complete").ok());
  return writer->plan().run_id;
}

TEST_CASE("attributing a run reads the tools its react steps offer from the run's chain") {
  testing::TempDir temp;
  auto workspace = Workspace::open(temp.path());
  REQUIRE(workspace.ok());
  AgentRun run;
  run.calls.push_back(call(1, "search", {{"query", "sum of 17 and 25"}}));
  run.results = {"nothing about sums"};
  run.output = "40";
  std::vector<json> lines;
  for (const char* id : {"a1", "a2"}) lines.push_back(react_line(sum_case(id), run));
  const std::string run_id = store_agent_run(*workspace, lines);
  auto report = attribute_run(*workspace, "tools", run_id);
  REQUIRE_MESSAGE(report.ok(), (report.ok() ? "" : report.error().message));
  REQUIRE(report->attributions.size() == 2);
  for (const Attribution& attribution : report->attributions) {
    CHECK(attribution.failure_class == FailureClass::kToolUse);
    CHECK(attribution.tool_use == ToolUsePattern::kToolNotOffered);
    CHECK(attribution.tool == "get-sum");
  }
  REQUIRE(report->analysis.clusters.size() == 1);
  CHECK(report->analysis.clusters[0].level == ChangeLevel::kStructural);
  CHECK(report->analysis.recommended == ChangeLevel::kStructural);
}

}  // namespace
}  // namespace fapo
