#include "engine/attribution/agent_trace.h"

#include <cmath>
#include <set>

#include "engine/attribution/evidence.h"
#include "engine/base/strings.h"

namespace fapo {
namespace {

using nlohmann::json;

std::string string_field(const json& object, const char* key) {
  auto found = object.find(key);
  return found != object.end() && found->is_string() ? found->get<std::string>() : "";
}

ObservedToolCall observe_call(const json& entry) {
  ObservedToolCall call;
  if (auto iteration = entry.find("iteration");
      iteration != entry.end() && iteration->is_number_integer()) {
    call.iteration = iteration->get<int>();
  }
  call.tool = string_field(entry, "tool");
  if (auto arguments = entry.find("arguments"); arguments != entry.end()) {
    call.arguments = *arguments;
  }
  call.error_kind = string_field(entry, "error_kind");
  call.error = string_field(entry, "error");
  return call;
}

}  // namespace

std::optional<std::string> ObservedAgent::tool_of_result(std::size_t index) const {
  // The executor answers every executed call with one "tool" message, in order; whether a
  // limit-refused call gets one too is not promised, so both counts are tried.
  if (tool_results.size() == calls.size()) {
    return index < calls.size() ? std::optional(calls[index].tool) : std::nullopt;
  }
  std::vector<const ObservedToolCall*> executed;
  for (const ObservedToolCall& call : calls) {
    if (!call.limit_refused()) executed.push_back(&call);
  }
  if (tool_results.size() == executed.size() && index < executed.size()) {
    return executed[index]->tool;
  }
  return std::nullopt;
}

ObservedAgent observe_agent(const json& step) {
  ObservedAgent agent;
  agent.raw_reply = string_field(step, "raw_reply");
  if (agent.raw_reply.empty()) agent.raw_reply = string_field(step, "output");
  if (auto messages = step.find("messages"); messages != step.end() && messages->is_array()) {
    for (const json& message : *messages) {
      if (message.is_object() && string_field(message, "role") == "tool") {
        agent.tool_results.push_back(string_field(message, "content"));
      }
    }
  }
  auto detail = step.find("detail");
  if (detail == step.end() || !detail->is_object()) return agent;
  if (auto trajectory = detail->find("trajectory");
      trajectory != detail->end() && trajectory->is_array()) {
    for (const json& entry : *trajectory) {
      if (entry.is_object()) agent.calls.push_back(observe_call(entry));
    }
  }
  agent.stop_reason = string_field(*detail, "stop_reason");
  if (auto unavailable = detail->find("unavailable_tools");
      unavailable != detail->end() && unavailable->is_object()) {
    for (const auto& [tool, reason] : unavailable->items()) {
      agent.unavailable_tools[tool] = reason.is_string() ? reason.get<std::string>() : "";
    }
  }
  if (auto parse_failed = detail->find("parse_failed");
      parse_failed != detail->end() && parse_failed->is_boolean()) {
    agent.parse_failed = parse_failed->get<bool>();
  }
  return agent;
}

std::optional<std::vector<ExpectedToolCall>> expected_tool_calls(const Case& case_data) {
  if (!case_data.expected.is_object()) return std::nullopt;
  auto found = case_data.expected.find("tool_calls");
  if (found == case_data.expected.end() || !found->is_array()) return std::nullopt;
  std::vector<ExpectedToolCall> calls;
  for (const json& item : *found) {
    if (!item.is_object() || !item.contains("name") || !item["name"].is_string()) continue;
    ExpectedToolCall call;
    call.name = item["name"].get<std::string>();
    if (item.contains("arguments") && item["arguments"].is_object()) {
      call.arguments = item["arguments"];
    }
    calls.push_back(std::move(call));
  }
  return calls;
}

}  // namespace fapo
