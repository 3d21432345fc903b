// What attribution reads of a tool-using (`react`) step, and what a case expects of it. A react
// step's trace records, per tool call the model asked for, the tool, its arguments and how it
// ended (detail.trajectory), why the loop stopped, which offered tools were unavailable, and
// the conversation with the tool results as "tool" messages. ObservedAgent copies exactly those
// fields; the rest of `detail` stays behind (docs/attribution.md, "The simulated model's
// record"). The tools a step offers are not in its trace: run attribution fills them in from
// the run's chain when it can find it.
//
// A case of a tool task lists the calls it needs in expected.tool_calls: [{"name", "arguments"}]
// in order, [] when it needs none. Arguments are a subset to match: strings compared after the
// evidence normalisation, every expected word present in the actual value; numbers
// numerically; objects key by key; arrays item by item (each expected item matching some
// actual item).
//
// Plain values and pure functions; thread-safe.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/data/case.h"

namespace fapo {

// One entry of detail.trajectory.
struct ObservedToolCall {
  int iteration = 0;  // 1-based model turn
  std::string tool;
  nlohmann::json arguments;  // the parsed object, or the raw text when it was not JSON
  std::string error_kind;    // "" on success; "timeout", ..., "limit"
  std::string error;

  bool succeeded() const { return error_kind.empty(); }
  // Refused by the step's limits: not made, so neither a failure of the tool nor a call.
  bool limit_refused() const { return error_kind == "limit"; }
};

// The tool side of one react step's trace.
struct ObservedAgent {
  std::vector<ObservedToolCall> calls;       // in the order the model asked for them
  std::string stop_reason;                   // "answer", "max_iterations", "max_calls"
  std::map<std::string, std::string> unavailable_tools;  // tool -> why its server is down
  std::vector<std::string> tool_results;     // the "tool" messages, in order
  std::string raw_reply;                     // the final assistant text
  bool parse_failed = false;                 // the step's parse rule found nothing in it
  // The tools the step offers, from the chain; nullopt when the chain could not be found.
  std::optional<std::vector<std::string>> offered_tools;

  bool stopped_by_limit() const {
    return stop_reason == "max_iterations" || stop_reason == "max_calls";
  }
  // The tool whose result is tool_results[index], when the trace lets it be told.
  std::optional<std::string> tool_of_result(std::size_t index) const;
};

// Reads the tool side of a react step's trace line (its "detail", "messages", "raw_reply" and
// "output"). Absent or ill-typed fields keep their defaults.
ObservedAgent observe_agent(const nlohmann::json& step);

// One call a case expects.
struct ExpectedToolCall {
  std::string name;
  nlohmann::json arguments = nlohmann::json::object();
};

// expected.tool_calls of a case; nullopt when the case does not say which tools it needs.
std::optional<std::vector<ExpectedToolCall>> expected_tool_calls(const Case& case_data);

}  // namespace fapo
