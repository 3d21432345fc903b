#include "engine/attribution/case_attribution.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include <doctest/doctest.h>

#include "tests/test_support.h"

namespace fapo {
namespace {

using nlohmann::json;

const std::string kHop1Hit = "[1] \u00abWase Laboratories | Founded by Oriel Lavis\u00bb";
const std::string kHop1Miss = "[1] \u00abWase Prize | An award\u00bb";
const std::string kHop2Hit = "[1] \u00abOriel Lavis | Born in Hidrecell\u00bb";
const std::string kHop2Miss = "[1] \u00abLavis family | Lives in Lepon\u00bb";

Case multihop_case() {
  Case item;
  item.case_id = "mh1";
  item.context = {{"question", "In which city was the founder of Wase Laboratories born?"}};
  item.expected = {{"answer", "Hidrecell"},
                   {"bridge", "Oriel Lavis"},
                   {"supporting_titles", {"Wase Laboratories", "Oriel Lavis"}},
                   {"distractors", {"Lepon"}}};
  return item;
}

ObservedStep step(std::string id, std::string kind, std::string input, std::string output) {
  ObservedStep observed;
  observed.step_id = std::move(id);
  observed.kind = std::move(kind);
  observed.input = std::move(input);
  observed.output = std::move(output);
  return observed;
}

// hop1 (retrieve) -> summarize -> query2 -> hop2 (retrieve) -> answer, as multihop_qa runs.
ObservedCase multihop_trace(const std::string& hop1, const std::string& notes,
                            const std::string& query, const std::string& hop2,
                            const std::string& answer) {
  const std::string question = "In which city was the founder of Wase Laboratories born?";
  ObservedCase observed;
  observed.case_id = "mh1";
  observed.score = 0;
  observed.final_output = answer;
  observed.steps = {step("hop1", "retrieve", question, hop1),
                    step("summarize", "llm", "Question: " + question + "\n" + hop1, notes),
                    step("query2", "llm", "Question: " + question + "\nNotes: " + notes, query),
                    step("hop2", "retrieve", query, hop2),
                    step("answer", "llm", "Notes: " + notes + "\nPassages:\n" + hop2, answer)};
  return observed;
}

Attribution attribute(const ObservedCase& observed, const Case& item = multihop_case()) {
  return attribute_case(item, case_evidence(item, AnswerFields{}), observed);
}

TEST_CASE("blames the answering step's form when the answer is in a wordy output") {
  Attribution result = attribute(multihop_trace(
      kHop1Hit, "It concerns Oriel Lavis.", "Oriel Lavis birthplace", kHop2Hit,
      "Based on the passages about Oriel Lavis, the answer to the question is Hidrecell."));
  CHECK(result.failure_class == FailureClass::kFormat);
  CHECK(result.step_id == "answer");
  CHECK(result.pattern == OutputPattern::kTooLong);
  CHECK(result.confidence > 0.8);
  CHECK(result.evidence[0].find("contains the answer \"Hidrecell\"") != std::string::npos);
}

TEST_CASE("calls a wrong answer with the evidence in the prompt a reasoning failure") {
  Attribution result = attribute(multihop_trace(kHop1Hit, "It concerns Oriel Lavis.",
                                                "Oriel Lavis", kHop2Hit,
                                                "I cannot determine the answer."));
  CHECK(result.failure_class == FailureClass::kReasoning);
  CHECK(result.step_id == "answer");
  CHECK(result.pattern == OutputPattern::kRefusalOrHedge);
}

TEST_CASE("finds the step that dropped the bridge entity it was given") {
  Attribution result = attribute(multihop_trace(
      kHop1Hit, "The passages describe the subject.",
      "In which city was the founder of Wase Laboratories born?", kHop2Miss, "Lepon"));
  CHECK(result.failure_class == FailureClass::kDroppedEvidence);
  CHECK(result.step_id == "summarize");
  CHECK(result.step_kind == "llm");
  CHECK(result.evidence[0].find("\"Oriel Lavis\"") != std::string::npos);
}

TEST_CASE("blames the first search when it never found the bridge entity") {
  Attribution result = attribute(multihop_trace(
      kHop1Miss, "The passages do not say.",
      "In which city was the founder of Wase Laboratories born?", kHop2Miss, "Lepon"));
  CHECK(result.failure_class == FailureClass::kRetrievalMiss);
  CHECK(result.step_id == "hop1");
  CHECK(result.step_kind == "retrieve");
}

TEST_CASE("blames the second search when its query had the bridge and it missed the answer") {
  Attribution result = attribute(multihop_trace(kHop1Hit, "It concerns Oriel Lavis.",
                                                "Oriel Lavis", kHop2Miss, "Lepon"));
  CHECK(result.failure_class == FailureClass::kRetrievalMiss);
  CHECK(result.step_id == "hop2");
  bool names_gold = false;
  for (const std::string& line : result.evidence) {
    names_gold |= line.find("gold passages not retrieved") != std::string::npos &&
                  line.find("\"Oriel Lavis\"") != std::string::npos;
  }
  CHECK(names_gold);
}

TEST_CASE("decides by step kinds and evidence, not by step names") {
  ObservedCase observed = multihop_trace(kHop1Hit, "It concerns Oriel Lavis.", "Oriel Lavis",
                                         kHop2Miss, "Lepon");
  const char* names[] = {"a", "b", "c", "d", "e"};
  for (std::size_t i = 0; i < observed.steps.size(); ++i) observed.steps[i].step_id = names[i];
  Attribution result = attribute(observed);
  CHECK(result.failure_class == FailureClass::kRetrievalMiss);
  CHECK(result.step_id == "d");
}

Case math_case() {
  Case item;
  item.case_id = "wm1";
  item.context = {{"problem", "A baker bakes 6 trays of 9 rolls. How many rolls?"}};
  item.expected = {{"answer", "54"}, {"answer_words", "fifty-four"}, {"distractors", {"45"}}};
  return item;
}

// solve (llm) -> verify (llm) -> extract (transform), as word_math runs.
ObservedCase math_trace(const std::string& solved, const std::string& verified,
                        const std::string& extracted) {
  ObservedCase observed;
  observed.case_id = "wm1";
  observed.score = 0;
  observed.final_output = extracted;
  observed.steps = {step("solve", "llm", "Solve: A baker bakes 6 trays of 9 rolls.", solved),
                    step("verify", "llm", "Check the proposed solution:\n" + solved, verified),
                    step("extract", "transform", "", extracted)};
  return observed;
}

TEST_CASE("blames the llm step whose number in words a later extract could not read") {
  Attribution result = attribute(
      math_trace("6 x 9 = 54. So the answer is 54.", "It checks out.\nFinal answer: fifty-four",
                 ""),
      math_case());
  CHECK(result.failure_class == FailureClass::kFormat);
  CHECK(result.step_id == "verify");
  CHECK(result.pattern == OutputPattern::kEmpty);
}

TEST_CASE("calls an empty intermediate output that empties the rest a cascade") {
  Attribution result =
      attribute(math_trace("6 x 9 = 54. So the answer is 54.", "  ", ""), math_case());
  CHECK(result.failure_class == FailureClass::kCascade);
  CHECK(result.step_id == "verify");
}

TEST_CASE("blames the first step that had to produce an answer no step ever held") {
  Attribution wrong_first = attribute(
      math_trace("So the answer is 45.", "Looks fine.\nFinal answer: 45", "45"), math_case());
  CHECK(wrong_first.failure_class == FailureClass::kReasoning);
  CHECK(wrong_first.step_id == "solve");
  CHECK(wrong_first.pattern == OutputPattern::kWrongContent);

  Attribution overturned = attribute(
      math_trace("So the answer is 54.", "I get another result.\nFinal answer: 45", "45"),
      math_case());
  CHECK(overturned.failure_class == FailureClass::kReasoning);
  CHECK(overturned.step_id == "verify");
}

TEST_CASE("reports model failures as infrastructure and step errors as tool failures") {
  ObservedCase infra = math_trace("So the answer is 54.", "", "");
  infra.steps[1].error = "HTTP 503 after 4 retries";
  infra.steps[1].infrastructure_error = true;
  infra.infrastructure_failure = true;
  infra.score.reset();
  Attribution first = attribute(infra, math_case());
  CHECK(first.failure_class == FailureClass::kInfrastructure);
  CHECK(first.step_id == "verify");
  CHECK(first.evidence[0].find("HTTP 503") != std::string::npos);

  ObservedCase tool = multihop_trace("", "", "", "", "");
  tool.steps.resize(1);
  tool.steps[0].error = "step 'hop1': no corpus loaded";
  Attribution second = attribute(tool);
  CHECK(second.failure_class == FailureClass::kToolFailure);
  CHECK(second.step_id == "hop1");
}

TEST_CASE("says unknown when the case has no expected answer to trace") {
  Case item = math_case();
  item.expected = json::object();
  Attribution result = attribute(math_trace("42", "Final answer: 42", "42"), item);
  CHECK(result.failure_class == FailureClass::kUnknown);
  CHECK(result.confidence < 0.5);
}

json result_line(const std::string& sim_rule) {
  json steps = json::array();
  steps.push_back({{"step_id", "solve"},
                   {"kind", "llm"},
                   {"messages", {{{"role", "user"}, {"content", "Solve: 6 trays of 9 rolls"}}}},
                   {"output", "So the answer is 54."},
                   {"detail", {{"sim", {{"rule", sim_rule}, {"noise", false}}}}}});
  steps.push_back({{"step_id", "verify"},
                   {"kind", "llm"},
                   {"messages", {{{"role", "user"}, {"content", "Check: So the answer is 54."}}}},
                   {"output", "Final answer: 45"},
                   {"detail", {{"sim", {{"rule", sim_rule}, {"noise", true}}}}}});
  return {{"case_id", "wm1"}, {"trial", 2},   {"score", 0},
          {"final_output", "Final answer: 45"}, {"trace", {{"steps", steps}}}};
}

TEST_CASE("reads a result line and ignores the simulated model's record of its rules") {
  ObservedCase observed = observe_result_line(result_line("solve_slip"));
  CHECK(observed.trial == 2);
  REQUIRE(observed.steps.size() == 2);
  CHECK(observed.steps[1].input.find("Check: So the answer is 54.") != std::string::npos);
  Attribution one = attribute(observed, math_case());
  Attribution other = attribute(observe_result_line(result_line("verify_confirms")), math_case());
  json stripped_line = result_line("x");
  for (json& item : stripped_line["trace"]["steps"]) item.erase("detail");
  Attribution stripped = attribute(observe_result_line(stripped_line), math_case());
  CHECK(to_json(one) == to_json(other));
  CHECK(to_json(one) == to_json(stripped));
  CHECK(one.failure_class == FailureClass::kReasoning);
  CHECK(one.step_id == "verify");
}

TEST_CASE("no attribution source names the simulated model's trace record") {
  // The simulator's record (detail.sim, ModelReply::sim_trace) is the benchmark's ground truth;
  // attribution deciding from it would grade itself against its own answer key.
  const auto dir = testing::source_dir() / "engine" / "attribution";
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    std::ifstream in(entry.path());
    std::stringstream text;
    text << in.rdbuf();
    ++files;
    INFO(entry.path().string());
    CHECK(text.str().find("(\"sim\")") == std::string::npos);
    CHECK(text.str().find("[\"sim\"]") == std::string::npos);
    CHECK(text.str().find("sim_trace") == std::string::npos);
    CHECK(text.str().find("engine/llm/sim") == std::string::npos);
  }
  CHECK(files >= 4);
}

TEST_CASE("names classes and patterns in snake_case and reads class names back") {
  for (FailureClass value : kAllFailureClasses) {
    CHECK(failure_class_from_name(failure_class_name(value)) == value);
  }
  CHECK_FALSE(failure_class_from_name("retrieval miss").has_value());
  CHECK(std::string(output_pattern_name(OutputPattern::kRefusalOrHedge)) == "refusal_or_hedge");
}

}  // namespace
}  // namespace fapo
