#include "engine/attribution/case_attribution.h"

#include <algorithm>
#include <regex>

#include <fmt/format.h>

#include "engine/attribution/tool_attribution.h"
#include "engine/base/strings.h"
#include "engine/score/answer_match.h"

namespace fapo {
namespace {

std::string quote(std::string_view text) { return quote_text(text); }

bool is_model_step(const ObservedStep& step) {
  return step.kind == "llm" || step.kind == "vote" || step.kind == "react";
}

// Steps that ran, without loop containers (their body steps are in the trace already).
std::vector<const ObservedStep*> executed_steps(const ObservedCase& observed) {
  std::vector<const ObservedStep*> steps;
  for (const ObservedStep& step : observed.steps) {
    if (!step.skipped && step.kind != "loop") steps.push_back(&step);
  }
  return steps;
}

// The evidence one step saw and produced. A transform's rendered input is not in the trace;
// its input is taken to be the output of the step before it, the usual wiring.
struct StepEvidence {
  const ObservedStep* step;
  EvidenceText input;
  EvidenceText output;
};

std::vector<StepEvidence> step_evidence(const std::vector<const ObservedStep*>& steps) {
  std::vector<StepEvidence> result;
  for (std::size_t i = 0; i < steps.size(); ++i) {
    std::string_view input = steps[i]->input;
    if (steps[i]->kind == "transform" && i > 0) input = steps[i - 1]->output;
    result.push_back(StepEvidence{steps[i], EvidenceText(input), EvidenceText(steps[i]->output)});
  }
  return result;
}

// Where attribution stands while it walks a case: the steps, the evidence, the result.
class CaseWalk {
 public:
  CaseWalk(const Case& case_data, const CaseEvidence& evidence, const ObservedCase& observed)
      : evidence_(evidence), observed_(observed),
        executed_(executed_steps(observed)), steps_(step_evidence(executed_)),
        final_(observed.final_output), expected_calls_(expected_tool_calls(case_data)) {
    result_.case_id = observed.case_id;
    result_.trial = observed.trial;
    result_.score = observed.score;
    result_.pattern = output_pattern(observed.final_output, evidence);
    std::string context;
    for (const auto& [key, value] : case_data.context) context += value + "\n";
    EvidenceText context_text(context);
    // Facts the context already states need no retrieval; only the others are traced.
    for (const EvidenceValue& value : evidence.intermediate) {
      if (!context_text.holds(value)) intermediate_.push_back(value);
    }
    // The agent judged by its tool use: the last react step that ran.
    for (const StepEvidence& step : steps_) {
      if (step.step->agent) agent_ = step.step;
    }
  }

  Attribution run() {
    if (infrastructure() || tool_failure()) return result_;
    // A tool that failed did not cost the answer when the final output holds it anyway.
    const bool answered = holds_answer(final_, evidence_);
    if (!answered && (tool_not_offered() || agent_tool_failure())) return result_;
    if (!evidence_.has_answers()) {
      if (agent_tool_use()) return result_;
      return finish(FailureClass::kUnknown, last_index(), 0.2,
                    {"the case has no expected answer to trace through the steps"});
    }
    if (steps_.empty()) {
      return finish(FailureClass::kUnknown, -1, 0.2, {"the trace has no executed step"});
    }
    answer_step_ = answering_step();
    if (format_in_final_output() || agent_tool_use()) return result_;
    if (cascade() || format_lost_by_transform()) return result_;
    if (agent_missed_answer() || reasoning_with_evidence() || dropped_after_producer()) {
      return result_;
    }
    if (retrieval_or_dropped_hop()) return result_;
    return closed_book_reasoning();
  }

 private:
  Attribution finish(FailureClass value, int index, double confidence,
                     std::vector<std::string> evidence) {
    result_.failure_class = value;
    if (index >= 0) {
      result_.step_id = steps_[index].step->step_id;
      result_.step_kind = steps_[index].step->kind;
    }
    result_.confidence = confidence;
    result_.evidence = std::move(evidence);
    return result_;
  }

  int last_index() const { return static_cast<int>(steps_.size()) - 1; }

  bool record(const std::optional<AgentFinding>& finding, const ObservedStep& step) {
    if (!finding) return false;
    result_.failure_class = finding->failure_class;
    result_.step_id = step.step_id;
    result_.step_kind = step.kind;
    result_.confidence = finding->confidence;
    result_.evidence = finding->evidence;
    result_.tool = finding->tool;
    result_.tool_error = finding->tool_error;
    result_.tool_use = finding->tool_use;
    return true;
  }

  bool tool_not_offered() {
    return agent_ != nullptr && record(needed_tool_not_offered(*agent_, expected_calls_), *agent_);
  }

  // Every react step that ran, in order: the first unrecovered failure of a needed tool.
  bool agent_tool_failure() {
    for (const StepEvidence& step : steps_) {
      if (record(unrecovered_tool_failure(*step.step, expected_calls_), *step.step)) return true;
    }
    return false;
  }

  // How the agent used its tools; not asked when its output holds the answer (what went
  // wrong came after it).
  bool agent_tool_use() {
    if (agent_ == nullptr) return false;
    if (evidence_.has_answers() && holds_answer(EvidenceText(agent_->output), evidence_)) {
      return false;
    }
    const bool in_results = evidence_.has_answers() &&
                            tool_result_holding_answer(*agent_->agent, evidence_).has_value();
    return record(tool_use_failure(*agent_, expected_calls_, in_results), *agent_);
  }

  // The answering agent had the answer (in a tool result, or in a reply its parse rule could
  // not read) and did not give it.
  bool agent_missed_answer() {
    if (agent_ == nullptr || steps_[answer_step_].step != agent_) return false;
    const ObservedAgent& agent = *agent_->agent;
    if (agent.parse_failed && holds_answer(EvidenceText(agent.raw_reply), evidence_)) {
      finish(FailureClass::kFormat, answer_step_, 0.85,
             {"the final reply of step " + name(answer_step_) + " held the answer " +
                  answer_text() + ": " + quote(agent.raw_reply),
              "the step's parse rule found nothing in it"});
      return true;
    }
    auto hit = tool_result_holding_answer(agent, evidence_);
    if (!hit) return false;
    const std::string source =
        hit->tool ? "tool '" + *hit->tool + "'" : "a tool (tool message " +
                                                      std::to_string(hit->index + 1) + ")";
    finish(FailureClass::kReasoning, answer_step_, 0.85,
           {"the result of " + source + " held the answer " + answer_text() + ": " +
                quote(agent.tool_results[hit->index]),
            "the final answer of step " + name(answer_step_) + " was " +
                quote(agent_->output)});
    return true;
  }

  std::string name(int index) const {
    return "'" + steps_[index].step->step_id + "' (" + steps_[index].step->kind + ")";
  }

  std::string answer_text() const {
    std::vector<std::string> texts;
    for (const EvidenceValue& value : evidence_.answers) texts.push_back(quote(value.text));
    return join(texts, evidence_.answers_form_a_set ? " and " : " or ");
  }

  bool infrastructure() {
    for (const ObservedStep& step : observed_.steps) {
      if (!step.infrastructure_error) continue;
      finish(FailureClass::kInfrastructure, -1, 1.0,
             {"step '" + step.step_id + "': the model call failed after retries: " +
              quote(step.error.value_or("no message"))});
      // Named directly: a failed step may be one attribution does not walk (a loop).
      result_.step_id = step.step_id;
      result_.step_kind = step.kind;
      return true;
    }
    if (!observed_.infrastructure_failure) return false;
    finish(FailureClass::kInfrastructure, -1, 1.0,
           {"the model call failed after retries: " +
            quote(observed_.error.value_or("no message"))});
    return true;
  }

  bool tool_failure() {
    for (const ObservedStep& step : observed_.steps) {
      if (!step.error) continue;
      finish(FailureClass::kToolFailure, -1, 0.95,
             {"step '" + step.step_id + "' (" + step.kind + ") stopped with an error: " +
              quote(*step.error)});
      result_.step_id = step.step_id;
      result_.step_kind = step.kind;
      return true;
    }
    if (!observed_.error) return false;
    finish(FailureClass::kToolFailure, last_index(), 0.8,
           {"the chain stopped with an error: " + quote(*observed_.error)});
    return true;
  }

  // The step whose output is the final output, else the last step that ran.
  int final_step() const {
    for (int i = last_index(); i >= 0; --i) {
      if (steps_[i].step->output == observed_.final_output) return i;
    }
    return last_index();
  }

  // The last model step at or before the final step: the one that answers.
  int answering_step() const {
    for (int i = final_step(); i >= 0; --i) {
      if (is_model_step(*steps_[i].step)) return i;
    }
    return final_step();
  }

  bool format_in_final_output() {
    if (!holds_answer(final_, evidence_)) return false;
    std::string score = observed_.score ? fmt::format("{:.1f}", *observed_.score) : "no score";
    finish(FailureClass::kFormat, answer_step_, 0.9,
           {"the final output " + quote(observed_.final_output) + " contains the answer " +
                answer_text() + ", but the scorer gave " + score,
            observed_.scorer_error ? "the scorer said: " + quote(*observed_.scorer_error)
                                   : "the answer is wrapped in text the scorer does not accept"});
    return true;
  }

  // The first empty output that every later step inherited: the final output is empty too.
  bool cascade() {
    if (!trim(observed_.final_output).empty()) return false;
    const int last = final_step();
    for (int i = 0; i < last; ++i) {
      if (!trim(steps_[i].step->output).empty()) continue;
      finish(FailureClass::kCascade, i, 0.9,
             {"step " + name(i) + " returned an empty output",
              "every step after it and the final output are empty as well"});
      return true;
    }
    return false;
  }

  // The last step whose output held the answer, or -1.
  int last_producer(int before) const {
    for (int i = before; i >= 0; --i) {
      if (holds_answer(steps_[i].output, evidence_)) return i;
    }
    return -1;
  }

  // An llm step wrote the answer and only deterministic steps came after it: the answer was
  // lost to its form (e.g. a number in words an extract pattern cannot read).
  bool format_lost_by_transform() {
    const int last = final_step();
    int producer = last_producer(last);
    if (producer < 0 || !is_model_step(*steps_[producer].step) || producer == last) return false;
    for (int i = producer + 1; i <= last; ++i) {
      if (steps_[i].step->kind != "transform") return false;
    }
    finish(FailureClass::kFormat, producer, 0.85,
           {"step " + name(producer) + " wrote the answer " + answer_text() + ": " +
                quote(steps_[producer].step->output),
            "the deterministic step " + name(producer + 1) + " turned it into " +
                quote(steps_[producer + 1].step->output)});
    return true;
  }

  bool reasoning_with_evidence() {
    if (!holds_answer(steps_[answer_step_].input, evidence_)) return false;
    finish(FailureClass::kReasoning, answer_step_, 0.85,
           {"the prompt of step " + name(answer_step_) + " held the answer " + answer_text(),
            "its output was " + quote(steps_[answer_step_].step->output)});
    return true;
  }

  // The last retrieve step before the answering step, or -1.
  int last_retrieve() const {
    for (int i = answer_step_ - 1; i >= 0; --i) {
      if (steps_[i].step->kind == "retrieve") return i;
    }
    return -1;
  }

  // The answer appeared in some output and was lost before the answering step. When the last
  // retrieve step never had it, an earlier incidental appearance is not where the chain meant
  // to find it; the retrieval analysis decides instead.
  bool dropped_after_producer() {
    int producer = last_producer(answer_step_ - 1);
    if (producer < 0) return false;
    const int retrieve = last_retrieve();
    if (retrieve > producer) return false;
    return dropped_between(producer, answer_step_, evidence_.answers, "the answer");
  }

  // The first model or transform step after `from` and before `to` that had one of `values`
  // in its input and not in its output.
  bool dropped_between(int from, int to, const std::vector<EvidenceValue>& values,
                       const std::string& what) {
    for (int i = from + 1; i < to; ++i) {
      const StepEvidence& step = steps_[i];
      if (step.step->kind == "retrieve") continue;
      const EvidenceValue* held = first_held(step.input, values);
      if (held == nullptr || step.output.holds(*held)) continue;
      finish(FailureClass::kDroppedEvidence, i, 0.8,
             {"step " + name(i) + " had " + what + " " + quote(held->text) + " in its input",
              "its output " + quote(step.step->output) + " leaves it out"});
      return true;
    }
    return false;
  }

  std::string passages_text(int index) const {
    std::vector<std::string> titles;
    for (const RetrievedPassage& passage : parse_retrieved_passages(steps_[index].step->output)) {
      titles.push_back(quote(passage.title.empty() ? passage.text : passage.title));
    }
    return titles.empty() ? "no passage" : join(titles, ", ");
  }

  // Gold passages a retrieve step did not return, by title (when the case names them).
  std::vector<std::string> missing_gold(int index) const {
    std::vector<std::string> missing;
    const EvidenceText output(steps_[index].step->output);
    for (const std::string& title : evidence_.gold_titles) {
      if (!output.holds(EvidenceValue{title, normalize_evidence_text(title), std::nullopt})) {
        missing.push_back(quote(title));
      }
    }
    return missing;
  }

  bool miss_at(int index, const std::string& what, double confidence) {
    std::vector<std::string> lines = {
        "step " + name(index) + " searched for " + quote(steps_[index].step->input) +
            " and returned " + passages_text(index),
        "no returned passage contains " + what};
    std::vector<std::string> missing = missing_gold(index);
    if (!missing.empty()) lines.push_back("gold passages not retrieved: " + join(missing, ", "));
    finish(FailureClass::kRetrievalMiss, index, confidence, std::move(lines));
    return true;
  }

  // The answer never reached the answering step and no step dropped it: a retrieval missed.
  // With an intermediate fact (a bridge entity), the last search needed it in its query; if
  // it was not there, the hop that should have found it missed, or a step between lost it.
  bool retrieval_or_dropped_hop() {
    const int retrieve = last_retrieve();
    if (retrieve < 0) return false;
    const bool query_has_fact =
        intermediate_.empty() || first_held(steps_[retrieve].input, intermediate_) != nullptr;
    if (query_has_fact) return miss_at(retrieve, "the answer " + answer_text(), 0.85);
    for (int i = 0; i < retrieve; ++i) {
      if (steps_[i].step->kind != "retrieve") continue;
      if (first_held(steps_[i].output, intermediate_) != nullptr) {
        if (dropped_between(i, retrieve, intermediate_, "the intermediate fact")) return true;
        return miss_at(retrieve, "the answer " + answer_text(), 0.6);
      }
    }
    for (int i = 0; i < retrieve; ++i) {
      if (steps_[i].step->kind != "retrieve") continue;
      std::vector<std::string> facts;
      for (const EvidenceValue& value : intermediate_) facts.push_back(quote(value.text));
      return miss_at(i, "the intermediate fact " + join(facts, " or ") +
                            " that the later search needed",
                     0.8);
    }
    return miss_at(retrieve, "the answer " + answer_text(), 0.7);
  }

  // Nothing to retrieve and the answer never appeared: the first model step that had to
  // produce it did not (later steps only saw its wrong result).
  Attribution closed_book_reasoning() {
    for (int i = 0; i <= answer_step_; ++i) {
      if (!is_model_step(*steps_[i].step)) continue;
      return finish(FailureClass::kReasoning, i, i == answer_step_ ? 0.75 : 0.65,
                    {"no step's input or output held the answer " + answer_text(),
                     "step " + name(i) + " was the first to answer: " +
                         quote(steps_[i].step->output)});
    }
    return finish(FailureClass::kUnknown, final_step(), 0.2,
                  {"no model step ran and no step held the answer " + answer_text()});
  }

  const CaseEvidence& evidence_;
  const ObservedCase& observed_;
  std::vector<const ObservedStep*> executed_;
  std::vector<StepEvidence> steps_;
  EvidenceText final_;
  std::vector<EvidenceValue> intermediate_;
  ExpectedCalls expected_calls_;
  const ObservedStep* agent_ = nullptr;
  int answer_step_ = -1;
  Attribution result_;
};

std::string messages_text(const nlohmann::json& messages) {
  std::string text;
  if (!messages.is_array()) return text;
  for (const auto& message : messages) {
    if (message.is_object() && message.contains("content") && message["content"].is_string()) {
      text += message["content"].get<std::string>() + "\n";
    }
  }
  return text;
}

// The fields of a step trace attribution may read; everything else in `detail` stays behind.
ObservedStep observe_step(const nlohmann::json& step) {
  ObservedStep observed;
  observed.step_id = step.value("step_id", "");
  observed.kind = step.value("kind", "");
  observed.skipped = step.value("skipped", false);
  observed.output = step.value("output", "");
  if (step.contains("error") && step["error"].is_string()) observed.error = step["error"];
  observed.infrastructure_error = step.value("infrastructure_error", false);
  observed.input = messages_text(step.value("messages", nlohmann::json::array()));
  const nlohmann::json detail = step.value("detail", nlohmann::json::object());
  if (detail.is_object() && detail.contains("query") && detail["query"].is_string()) {
    observed.input = detail["query"];
  }
  if (detail.is_object() && detail.contains("passage_ids") && detail["passage_ids"].is_array()) {
    for (const auto& id : detail["passage_ids"]) {
      if (id.is_string()) observed.passage_ids.push_back(id);
    }
  }
  if (observed.kind == "react") observed.agent = observe_agent(step);
  return observed;
}

}  // namespace

const char* failure_class_name(FailureClass value) {
  switch (value) {
    case FailureClass::kInfrastructure: return "infrastructure";
    case FailureClass::kToolFailure: return "tool_failure";
    case FailureClass::kToolUse: return "tool_use";
    case FailureClass::kCascade: return "cascade";
    case FailureClass::kRetrievalMiss: return "retrieval_miss";
    case FailureClass::kDroppedEvidence: return "dropped_evidence";
    case FailureClass::kFormat: return "format";
    case FailureClass::kReasoning: return "reasoning";
    case FailureClass::kUnknown: return "unknown";
  }
  return "unknown";
}

std::optional<FailureClass> failure_class_from_name(std::string_view name) {
  for (FailureClass value : kAllFailureClasses) {
    if (name == failure_class_name(value)) return value;
  }
  return std::nullopt;
}

const char* output_pattern_name(OutputPattern value) {
  switch (value) {
    case OutputPattern::kEmpty: return "empty";
    case OutputPattern::kRefusalOrHedge: return "refusal_or_hedge";
    case OutputPattern::kTooLong: return "too_long";
    case OutputPattern::kWrongShape: return "wrong_shape";
    case OutputPattern::kWrongContent: return "wrong_content";
  }
  return "wrong_content";
}

const char* tool_use_pattern_name(ToolUsePattern value) {
  switch (value) {
    case ToolUsePattern::kNone: return "none";
    case ToolUsePattern::kToolNotOffered: return "tool_not_offered";
    case ToolUsePattern::kRepeatedCall: return "repeated_call";
    case ToolUsePattern::kWrongTool: return "wrong_tool";
    case ToolUsePattern::kMissingTool: return "missing_tool";
    case ToolUsePattern::kLimitReached: return "limit_reached";
    case ToolUsePattern::kWrongArguments: return "wrong_arguments";
  }
  return "none";
}

OutputPattern output_pattern(std::string_view output, const CaseEvidence& evidence) {
  if (trim(output).empty()) return OutputPattern::kEmpty;
  static const std::regex kHedge(
      R"(\b(cannot|can't|can not|unable to|not able to) (determine|answer|tell|find|say)|)"
      R"(\b(not sure|i don't know|i do not know|not enough information|no information|)"
      R"(do(es)? not (say|state|mention|specify)|not possible to|most likely|probably)\b)",
      std::regex::ECMAScript | std::regex::icase);
  if (std::regex_search(output.begin(), output.end(), kHedge)) {
    return OutputPattern::kRefusalOrHedge;
  }
  std::size_t answer_words = 1;
  bool numeric = !evidence.answers.empty();
  for (const EvidenceValue& value : evidence.answers) {
    answer_words = std::max(answer_words, word_count(value.text));
    numeric = numeric && value.number.has_value();
  }
  if (word_count(output) > std::max<std::size_t>(2 * answer_words + 4, 8)) {
    return OutputPattern::kTooLong;
  }
  if (numeric && find_numbers(output, false).empty()) return OutputPattern::kWrongShape;
  if (holds_answer(EvidenceText(output), evidence)) return OutputPattern::kWrongShape;
  return OutputPattern::kWrongContent;
}

ObservedCase observe_result_line(const nlohmann::json& line) {
  ObservedCase observed;
  observed.case_id = line.value("case_id", "");
  observed.trial = line.value("trial", 0);
  if (line.contains("score") && line["score"].is_number()) observed.score = line["score"];
  observed.final_output = line.value("final_output", "");
  if (line.contains("error") && line["error"].is_string()) observed.error = line["error"];
  if (line.contains("scorer_error") && line["scorer_error"].is_string()) {
    observed.scorer_error = line["scorer_error"];
  }
  observed.infrastructure_failure = line.value("infrastructure_failure", false);
  if (line.contains("trace") && line["trace"].is_object() && line["trace"].contains("steps") &&
      line["trace"]["steps"].is_array()) {
    for (const auto& step : line["trace"]["steps"]) {
      if (step.is_object()) observed.steps.push_back(observe_step(step));
    }
  }
  return observed;
}

Attribution attribute_case(const Case& case_data, const CaseEvidence& evidence,
                           const ObservedCase& observed) {
  return CaseWalk(case_data, evidence, observed).run();
}

nlohmann::json to_json(const Attribution& attribution) {
  nlohmann::json out = {{"case_id", attribution.case_id},
                        {"trial", attribution.trial},
                        {"score", attribution.score ? nlohmann::json(*attribution.score)
                                                    : nlohmann::json(nullptr)},
                        {"class", failure_class_name(attribution.failure_class)},
                        {"step", attribution.step_id},
                        {"step_kind", attribution.step_kind},
                        {"pattern", output_pattern_name(attribution.pattern)},
                        {"evidence", attribution.evidence},
                        {"confidence", attribution.confidence}};
  // Only for react steps, so reports of other chains keep their shape.
  if (!attribution.tool.empty()) out["tool"] = attribution.tool;
  if (!attribution.tool_error.empty()) out["kind"] = attribution.tool_error;
  if (attribution.tool_use != ToolUsePattern::kNone) {
    out["tool_use"] = tool_use_pattern_name(attribution.tool_use);
  }
  return out;
}

}  // namespace fapo
