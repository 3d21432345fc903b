// The verdicts attribution draws from a react step's tool calls (agent_trace.h), which the case
// walk (case_attribution.cpp) tests in this order:
//
//   1. tool_use / tool_not_offered: the case needs a tool the step does not offer (known only
//      when the run's chain was found). Structural: no prompt makes the tool appear.
//   2. tool_failure: a tool the case needs (any tool, when the case does not say) was
//      unavailable (its server failed to start) or failed (timeout, unknown_tool,
//      invalid_arguments, permission, other) and no later call of it succeeded. A failure the
//      agent recovered from is not blamed; nor is the failure of a tool the case does not
//      need (choosing it was the mistake: step 3 decides). Limit-refused calls are never
//      failures.
//   3. tool_use: how the agent used tools that worked, against expected.tool_calls when the
//      case has them: repeated_call, limit_reached, wrong_tool, missing_tool, wrong_arguments
//      (the last three only when no tool result held the answer: then the agent had it, and
//      the walk calls the miss reasoning).
//
// Plain values and pure functions; thread-safe.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "engine/attribution/case_attribution.h"
#include "engine/chain/chain_def.h"

namespace fapo {

// What a case expects of its tools; nullopt when it does not say.
using ExpectedCalls = std::optional<std::vector<ExpectedToolCall>>;

// One verdict about a react step, for the walk to record against that step.
struct AgentFinding {
  FailureClass failure_class = FailureClass::kToolUse;
  ToolUsePattern tool_use = ToolUsePattern::kNone;
  std::string tool;
  std::string tool_error;  // tool_failure: the kind
  double confidence = 0;
  std::vector<std::string> evidence;
};

// 1. A tool the case needs that `step` does not offer.
std::optional<AgentFinding> needed_tool_not_offered(const ObservedStep& step,
                                                    const ExpectedCalls& expected);

// 2. The first unavailable or failed tool of `step` that explains the failure.
std::optional<AgentFinding> unrecovered_tool_failure(const ObservedStep& step,
                                                     const ExpectedCalls& expected);

// 3. A bad use of working tools. `answer_in_results`: some tool result held the answer.
std::optional<AgentFinding> tool_use_failure(const ObservedStep& step,
                                             const ExpectedCalls& expected,
                                             bool answer_in_results);

// The first tool result of `agent` that holds the case's answer.
struct ToolResultHit {
  std::size_t index = 0;            // into ObservedAgent::tool_results
  std::optional<std::string> tool;  // the tool that returned it, when the trace tells
};
std::optional<ToolResultHit> tool_result_holding_answer(const ObservedAgent& agent,
                                                        const CaseEvidence& evidence);

// The tools each react step of `chain` offers, by step id.
std::map<std::string, std::vector<std::string>> offered_tools_of(const ChainDef& chain);

// Records on every react step of `observed` the tools its step offers (steps absent from
// `offered` keep nullopt: unknown).
void set_offered_tools(ObservedCase& observed,
                       const std::map<std::string, std::vector<std::string>>& offered);

}  // namespace fapo
