#include "engine/attribution/tool_attribution.h"

#include <algorithm>
#include <set>

#include "engine/base/strings.h"
#include "engine/tools/tool_call_match.h"

namespace fapo {
namespace {

// Argument texts in evidence are cut shorter than outputs: they only identify the call.
constexpr std::size_t kArgumentChars = 60;

std::string name_of(const ObservedStep& step) {
  return "step '" + step.step_id + "' (" + step.kind + ")";
}

std::string call_text(const ObservedToolCall& call, std::size_t index) {
  return "call " + std::to_string(index + 1) + " (turn " + std::to_string(call.iteration) +
         ") of '" + call.tool + "' with " + quote_text(call.arguments.is_string()
                                                           ? call.arguments.get<std::string>()
                                                           : call.arguments.dump(),
                                                       kArgumentChars);
}

// The needed tool names in the order the case lists them, each once.
std::vector<std::string> needed_tools(const std::vector<ExpectedToolCall>& expected) {
  std::vector<std::string> names;
  for (const ExpectedToolCall& call : expected) {
    if (std::find(names.begin(), names.end(), call.name) == names.end()) {
      names.push_back(call.name);
    }
  }
  return names;
}

bool is_needed(const ExpectedCalls& expected, const std::string& tool) {
  if (!expected) return true;  // the case does not say: every tool may matter
  return std::any_of(expected->begin(), expected->end(),
                     [&](const ExpectedToolCall& call) { return call.name == tool; });
}

bool succeeded_call_of(const ObservedAgent& agent, const std::string& tool) {
  return std::any_of(agent.calls.begin(), agent.calls.end(), [&](const ObservedToolCall& call) {
    return call.tool == tool && call.succeeded();
  });
}

// A later call made up for the failure: the same tool succeeded, or, after an unknown tool
// (a name nothing offers, so it can never succeed), any tool did.
bool recovered(const ObservedAgent& agent, std::size_t failed) {
  const ObservedToolCall& call = agent.calls[failed];
  for (std::size_t i = failed + 1; i < agent.calls.size(); ++i) {
    const ObservedToolCall& later = agent.calls[i];
    if (later.succeeded() && (later.tool == call.tool || call.error_kind == "unknown_tool")) {
      return true;
    }
  }
  return false;
}

std::optional<AgentFinding> unavailable_tool(const ObservedStep& step,
                                             const ExpectedCalls& expected) {
  const ObservedAgent& agent = *step.agent;
  for (const auto& [tool, reason] : agent.unavailable_tools) {
    const bool called = std::any_of(agent.calls.begin(), agent.calls.end(),
                                    [&](const ObservedToolCall& call) { return call.tool == tool; });
    if (!called && !is_needed(expected, tool)) continue;
    AgentFinding finding;
    finding.failure_class = FailureClass::kToolFailure;
    finding.tool = tool;
    finding.tool_error = "unavailable";
    finding.confidence = expected ? 0.9 : 0.7;
    finding.evidence = {"tool '" + tool + "', offered by " + name_of(step) +
                        ", was unavailable: its server failed to start: " + quote_text(reason)};
    if (expected) finding.evidence.push_back("the case needs '" + tool + "'");
    if (called) finding.evidence.push_back("the agent called it and got no result");
    return finding;
  }
  return std::nullopt;
}

// The first call (not limit-refused) that asked the same as an earlier successful call: the
// index of that earlier call and how many calls asked it from there on.
std::optional<std::pair<std::size_t, int>> first_repeat(const ObservedAgent& agent) {
  using Key = std::pair<std::string, std::string>;
  std::map<Key, std::size_t> first_success;
  std::map<Key, int> counts;
  std::optional<Key> repeated;
  for (std::size_t i = 0; i < agent.calls.size(); ++i) {
    const ObservedToolCall& call = agent.calls[i];
    if (call.limit_refused()) continue;
    Key key{call.tool, canonical_arguments(call.arguments)};
    if (!first_success.count(key)) {
      if (call.succeeded()) {
        first_success[key] = i;
        counts[key] = 1;
      }
      continue;
    }
    counts[key] += 1;
    if (!repeated) repeated = key;
  }
  if (!repeated) return std::nullopt;
  return std::make_pair(first_success[*repeated], counts[*repeated]);
}

std::string limit_text(const ObservedAgent& agent) {
  if (agent.stopped_by_limit()) return "the loop was stopped by " + agent.stop_reason;
  return "calls were refused by the step's call limits";
}

bool hit_limit(const ObservedAgent& agent) {
  return agent.stopped_by_limit() ||
         std::any_of(agent.calls.begin(), agent.calls.end(),
                     [](const ObservedToolCall& call) { return call.limit_refused(); });
}

AgentFinding tool_use(ToolUsePattern pattern, std::string tool, double confidence,
                      std::vector<std::string> evidence) {
  AgentFinding finding;
  finding.failure_class = FailureClass::kToolUse;
  finding.tool_use = pattern;
  finding.tool = std::move(tool);
  finding.confidence = confidence;
  finding.evidence = std::move(evidence);
  return finding;
}

std::optional<AgentFinding> repeated_call(const ObservedStep& step, double confidence) {
  const ObservedAgent& agent = *step.agent;
  auto repeat = first_repeat(agent);
  if (!repeat) return std::nullopt;
  std::vector<std::string> evidence = {
      name_of(step) + " repeated " + call_text(agent.calls[repeat->first], repeat->first) + " " +
      std::to_string(repeat->second) + " times with the same arguments"};
  if (hit_limit(agent)) evidence.push_back(limit_text(agent));
  return tool_use(ToolUsePattern::kRepeatedCall, agent.calls[repeat->first].tool, confidence,
                  std::move(evidence));
}

// Tools called (and not refused) that the case does not need, each once.
std::vector<std::string> unneeded_calls(const ObservedAgent& agent,
                                        const std::vector<std::string>& needed) {
  std::vector<std::string> tools;
  for (const ObservedToolCall& call : agent.calls) {
    if (call.limit_refused()) continue;
    if (std::find(needed.begin(), needed.end(), call.tool) != needed.end()) continue;
    if (std::find(tools.begin(), tools.end(), call.tool) == tools.end()) {
      tools.push_back(call.tool);
    }
  }
  return tools;
}

std::vector<std::string> quoted_names(const std::vector<std::string>& names) {
  std::vector<std::string> out;
  for (const std::string& name : names) out.push_back("'" + name + "'");
  return out;
}

// A needed tool that no successful call reached: wrong_tool, limit_reached or missing_tool.
std::optional<AgentFinding> missing_needed(const ObservedStep& step,
                                           const std::vector<std::string>& needed) {
  const ObservedAgent& agent = *step.agent;
  std::vector<std::string> missing;
  for (const std::string& tool : needed) {
    if (!succeeded_call_of(agent, tool)) missing.push_back(tool);
  }
  if (missing.empty()) return std::nullopt;
  const std::string needs = "the case needs " + join(quoted_names(missing), " and ");
  const bool any_call = std::any_of(agent.calls.begin(), agent.calls.end(),
                                    [](const ObservedToolCall& call) { return !call.limit_refused(); });
  const std::vector<std::string> wrong = unneeded_calls(agent, needed);
  if (!wrong.empty()) {
    return tool_use(ToolUsePattern::kWrongTool, missing.front(), 0.8,
                    {name_of(step) + " called " + join(quoted_names(wrong), ", ") +
                         ", which the case does not need",
                     needs + ", never called successfully"});
  }
  if (hit_limit(agent)) {
    return tool_use(ToolUsePattern::kLimitReached, missing.front(), 0.75,
                    {limit_text(agent) + " before " + name_of(step) + " called " +
                         quoted_names(missing).front(),
                     needs});
  }
  if (!any_call) {
    return tool_use(ToolUsePattern::kMissingTool, missing.front(), 0.85,
                    {name_of(step) + " answered without calling any tool", needs});
  }
  return tool_use(ToolUsePattern::kMissingTool, missing.front(), 0.8,
                  {name_of(step) + " never called " + join(quoted_names(missing), " or "),
                   needs});
}

// A needed call whose tool ran, but never with the arguments the case expects.
std::optional<AgentFinding> wrong_arguments(const ObservedStep& step,
                                            const std::vector<ExpectedToolCall>& expected) {
  const ObservedAgent& agent = *step.agent;
  for (const ExpectedToolCall& wanted : expected) {
    const ObservedToolCall* last = nullptr;
    bool matched = false;
    std::size_t last_index = 0;
    for (std::size_t i = 0; i < agent.calls.size() && !matched; ++i) {
      const ObservedToolCall& call = agent.calls[i];
      if (call.tool != wanted.name || !call.succeeded()) continue;
      matched = argument_matches(wanted.arguments, call.arguments);
      last = &call;
      last_index = i;
    }
    if (matched || last == nullptr) continue;
    return tool_use(ToolUsePattern::kWrongArguments, wanted.name, 0.7,
                    {name_of(step) + " made " + call_text(*last, last_index),
                     "the case expects '" + wanted.name + "' with arguments " +
                         quote_text(wanted.arguments.dump(), kArgumentChars) +
                         "; no call had them"});
  }
  return std::nullopt;
}

}  // namespace

std::optional<AgentFinding> needed_tool_not_offered(const ObservedStep& step,
                                                    const ExpectedCalls& expected) {
  if (!step.agent || !expected || !step.agent->offered_tools) return std::nullopt;
  const std::vector<std::string>& offered = *step.agent->offered_tools;
  for (const std::string& tool : needed_tools(*expected)) {
    if (std::find(offered.begin(), offered.end(), tool) != offered.end()) continue;
    return tool_use(ToolUsePattern::kToolNotOffered, tool, 0.9,
                    {"the case needs tool '" + tool + "', which " + name_of(step) +
                         " does not offer",
                     "it offers " + (offered.empty() ? std::string("no tool")
                                                     : join(quoted_names(offered), ", "))});
  }
  return std::nullopt;
}

std::optional<AgentFinding> unrecovered_tool_failure(const ObservedStep& step,
                                                     const ExpectedCalls& expected) {
  if (!step.agent) return std::nullopt;
  if (auto unavailable = unavailable_tool(step, expected)) return unavailable;
  const ObservedAgent& agent = *step.agent;
  for (std::size_t i = 0; i < agent.calls.size(); ++i) {
    const ObservedToolCall& call = agent.calls[i];
    if (call.succeeded() || call.limit_refused() || recovered(agent, i)) continue;
    if (!is_needed(expected, call.tool)) continue;
    AgentFinding finding;
    finding.failure_class = FailureClass::kToolFailure;
    finding.tool = call.tool;
    finding.tool_error = call.error_kind;
    finding.confidence = expected ? 0.9 : 0.75;
    finding.evidence = {name_of(step) + ": " + call_text(call, i) + " failed (" +
                            call.error_kind + "): " + quote_text(call.error),
                        "no later call of '" + call.tool + "' succeeded"};
    if (expected) finding.evidence.push_back("the case needs '" + call.tool + "'");
    return finding;
  }
  return std::nullopt;
}

std::optional<AgentFinding> tool_use_failure(const ObservedStep& step,
                                             const ExpectedCalls& expected,
                                             bool answer_in_results) {
  if (!step.agent) return std::nullopt;
  // Without expectations a repeat is the only sign, and a weaker one.
  if (auto repeat = repeated_call(step, expected ? 0.75 : 0.6)) return repeat;
  if (expected && !answer_in_results) {
    if (auto missing = missing_needed(step, needed_tools(*expected))) return missing;
  }
  if (hit_limit(*step.agent)) {
    return tool_use(ToolUsePattern::kLimitReached, "", expected ? 0.7 : 0.6,
                    {limit_text(*step.agent) + " after " +
                     std::to_string(step.agent->calls.size()) + " tool calls of " +
                     name_of(step)});
  }
  if (expected && !answer_in_results) return wrong_arguments(step, *expected);
  return std::nullopt;
}

std::optional<ToolResultHit> tool_result_holding_answer(const ObservedAgent& agent,
                                                        const CaseEvidence& evidence) {
  for (std::size_t i = 0; i < agent.tool_results.size(); ++i) {
    if (holds_answer(EvidenceText(agent.tool_results[i]), evidence)) {
      return ToolResultHit{i, agent.tool_of_result(i)};
    }
  }
  return std::nullopt;
}

std::map<std::string, std::vector<std::string>> offered_tools_of(const ChainDef& chain) {
  std::map<std::string, std::vector<std::string>> offered;
  for (const StepDef* step : all_steps(chain)) {
    if (step->kind == StepKind::kReact) offered[step->id] = step->tools;
  }
  return offered;
}

void set_offered_tools(ObservedCase& observed,
                       const std::map<std::string, std::vector<std::string>>& offered) {
  for (ObservedStep& step : observed.steps) {
    auto found = offered.find(step.step_id);
    if (step.agent && found != offered.end()) step.agent->offered_tools = found->second;
  }
}

}  // namespace fapo
