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

std::optional<double> number_of(const json& value) {
  if (value.is_number()) return value.get<double>();
  if (!value.is_string()) return std::nullopt;
  const std::string text = trim(value.get<std::string>());
  if (text.empty()) return std::nullopt;
  try {
    std::size_t used = 0;
    double number = std::stod(text, &used);
    if (used == text.size()) return number;
  } catch (const std::exception&) {
    // not a number written as text
  }
  return std::nullopt;
}

bool same_number(double a, double b) {
  return std::fabs(a - b) <= 1e-9 * std::max({1.0, std::fabs(a), std::fabs(b)});
}

std::string text_of(const json& value) {
  return value.is_string() ? value.get<std::string>() : value.dump();
}

// Every normalised word of `expected` is a word of `actual`.
bool words_contained(const std::string& expected, const std::string& actual) {
  std::set<std::string> actual_words;
  for (const std::string& word : split(normalize_evidence_text(actual), ' ')) {
    if (!word.empty()) actual_words.insert(word);
  }
  for (const std::string& word : split(normalize_evidence_text(expected), ' ')) {
    if (!word.empty() && !actual_words.count(word)) return false;
  }
  return true;
}

json canonical(const json& value) {
  if (value.is_string()) return normalize_evidence_text(value.get<std::string>());
  if (value.is_object()) {
    json out = json::object();  // nlohmann orders object keys
    for (const auto& [key, item] : value.items()) out[key] = canonical(item);
    return out;
  }
  if (value.is_array()) {
    json out = json::array();
    for (const auto& item : value) out.push_back(canonical(item));
    return out;
  }
  if (value.is_number()) return value.get<double>();  // 3 and 3.0 ask the same
  return value;
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

bool arguments_match(const json& expected, const json& actual) {
  if (expected.is_object()) {
    if (expected.empty()) return true;  // no argument is expected: any call will do
    if (!actual.is_object()) return false;
    for (const auto& [key, value] : expected.items()) {
      auto found = actual.find(key);
      if (found == actual.end() || !arguments_match(value, *found)) return false;
    }
    return true;
  }
  if (expected.is_array()) {
    if (!actual.is_array()) return false;
    for (const json& item : expected) {
      bool matched = false;
      for (const json& candidate : actual) matched = matched || arguments_match(item, candidate);
      if (!matched) return false;
    }
    return true;
  }
  if (expected.is_number()) {
    auto number = number_of(actual);
    return number && same_number(expected.get<double>(), *number);
  }
  if (expected.is_string()) {
    if (actual.is_object() || actual.is_array() || actual.is_null()) return false;
    return words_contained(expected.get<std::string>(), text_of(actual));
  }
  return expected == actual;
}

std::string canonical_arguments(const json& arguments) { return canonical(arguments).dump(); }

}  // namespace fapo
