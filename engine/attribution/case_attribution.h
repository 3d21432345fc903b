// Attribution of one failed case: which step broke and why, decided from the joined case
// (context and expected values) and what each step of its trace took in and gave out. The
// decision uses step kinds (llm, retrieve, transform, vote, loop, react) and the flow of
// evidence through the steps, never step names, so it holds for any chain shape. Tool-using
// (react) steps are also judged by their tool calls (tool_attribution.h).
//
// Classes, in the order they are tested (docs/attribution.md has the full rules):
//   infrastructure   a model call failed after retries; the case was not scored
//   tool_failure     a step stopped with an error (no corpus, a failing program, ...), or a
//                    react step's tool failed (timeout, unknown tool, ...) and never recovered
//                    (unless the final output holds the answer anyway: then format)
//   format           the answer is in the output but the scorer could not read it, or an
//                    llm step wrote it in a form a later deterministic step could not use
//   tool_use         a react step used its tools badly: a wrong or missing tool, wrong
//                    arguments, a repeated call, stopped by its limits; or (tested with the
//                    tool failures) the tool the case needs is not offered
//   cascade          a step's output was empty and emptied what followed
//   reasoning        the evidence reached the step that answers and the answer is still
//                    wrong (or, with nothing to retrieve, the first step that had to produce
//                    the answer did not)
//   dropped_evidence an intermediate step had the evidence in its input and lost it
//   retrieval_miss   the evidence for the answer (or for the next hop) is in no retrieved
//                    passage
//   unknown          the case carries nothing to trace (no expected answer)
//
// The simulated model records in each step's trace which of its rules produced a reply. That
// record is the benchmark's ground truth and attribution must never see it: ObservedStep copies
// only the fields listed below from a result line, and a test checks that no source file of
// engine/attribution names the record.
//
// Pure functions over values; thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/attribution/agent_trace.h"
#include "engine/attribution/evidence.h"
#include "engine/data/case.h"

namespace fapo {

enum class FailureClass {
  kInfrastructure,
  kToolFailure,
  kToolUse,
  kCascade,
  kRetrievalMiss,
  kDroppedEvidence,
  kFormat,
  kReasoning,
  kUnknown,
};
inline constexpr FailureClass kAllFailureClasses[] = {
    FailureClass::kInfrastructure,  FailureClass::kToolFailure,   FailureClass::kToolUse,
    FailureClass::kCascade,         FailureClass::kRetrievalMiss, FailureClass::kDroppedEvidence,
    FailureClass::kFormat,          FailureClass::kReasoning,     FailureClass::kUnknown};
const char* failure_class_name(FailureClass value);  // "retrieval_miss", ...
std::optional<FailureClass> failure_class_from_name(std::string_view name);

// What the final output looks like, as the scorer saw it.
enum class OutputPattern { kEmpty, kRefusalOrHedge, kTooLong, kWrongShape, kWrongContent };
const char* output_pattern_name(OutputPattern value);  // "refusal_or_hedge", ...

// How a react step used its tools, for tool_use failures (kNone otherwise).
enum class ToolUsePattern {
  kNone,
  kToolNotOffered,  // the case needs a tool the step does not offer
  kRepeatedCall,    // the same tool with the same arguments more than once
  kWrongTool,       // called tools the case does not need instead of one it needs
  kMissingTool,     // never called a tool the case needs (or no tool at all)
  kLimitReached,    // stopped by max_iterations / max_calls (or calls refused by a limit)
  kWrongArguments,  // called the needed tool, never with the arguments the case expects
};
const char* tool_use_pattern_name(ToolUsePattern value);  // "wrong_tool", ...

// The parts of one step's trace that attribution reads.
struct ObservedStep {
  std::string step_id;
  std::string kind;  // "llm", "retrieve", "transform", "vote", "loop", "react"
  bool skipped = false;
  // llm/vote: the rendered messages; react: the whole conversation, tool results included;
  // retrieve: the query; else empty
  std::string input;
  std::string output;
  std::optional<std::string> error;
  bool infrastructure_error = false;
  std::vector<std::string> passage_ids;  // retrieve
  std::optional<ObservedAgent> agent;    // react: its tool calls
};

// One (case, trial) result as attribution sees it.
struct ObservedCase {
  std::string case_id;
  int trial = 0;
  std::optional<double> score;  // nullopt: not scored
  std::string final_output;
  std::optional<std::string> error;
  bool infrastructure_failure = false;
  std::optional<std::string> scorer_error;
  std::vector<ObservedStep> steps;
};

// Reads a results.jsonl line (see engine/run/evaluator.cpp) into an ObservedCase. Fields that
// are absent or of the wrong type are left at their defaults.
ObservedCase observe_result_line(const nlohmann::json& line);

struct Attribution {
  std::string case_id;
  int trial = 0;
  std::optional<double> score;
  FailureClass failure_class = FailureClass::kUnknown;
  std::string step_id;  // empty when no step can be named
  std::string step_kind;
  OutputPattern pattern = OutputPattern::kWrongContent;
  std::vector<std::string> evidence;  // sentences: which passage or output showed what
  double confidence = 0;              // in [0, 1]
  // React steps: the tool concerned (tool_failure, tool_use); the failure kind of a
  // tool_failure there ("timeout", "unknown_tool", "invalid_arguments", "permission", "other",
  // "unavailable"); the pattern of a tool_use failure.
  std::string tool;
  std::string tool_error;
  ToolUsePattern tool_use = ToolUsePattern::kNone;
};

// Attributes one failed result. `evidence` comes from case_evidence(case_data, ...).
Attribution attribute_case(const Case& case_data, const CaseEvidence& evidence,
                           const ObservedCase& observed);

// The pattern of a final output against the case's answers.
OutputPattern output_pattern(std::string_view output, const CaseEvidence& evidence);

nlohmann::json to_json(const Attribution& attribution);

}  // namespace fapo
