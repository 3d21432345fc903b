#include "engine/chain/trace.h"

namespace fapo {
namespace {

// Tool fields appear only on the messages that carry them (react conversations), so the
// messages of plain llm steps read as before.
nlohmann::json message_json(const ChatMessage& message) {
  nlohmann::json out = {{"role", message.role}, {"content", message.content}};
  if (!message.tool_calls.empty()) out["tool_calls"] = to_json(message.tool_calls);
  if (!message.tool_call_id.empty()) out["tool_call_id"] = message.tool_call_id;
  return out;
}

ChatMessage message_from_json(const nlohmann::json& json) {
  ChatMessage message{json.value("role", ""), json.value("content", "")};
  if (const auto calls = json.find("tool_calls"); calls != json.end() && calls->is_array()) {
    for (const auto& call : *calls) {
      message.tool_calls.push_back(
          {call.value("id", ""), call.value("name", ""), call.value("arguments", "{}")});
    }
  }
  message.tool_call_id = json.value("tool_call_id", "");
  return message;
}

}  // namespace

nlohmann::json to_json(const StepTrace& trace) {
  nlohmann::json messages = nlohmann::json::array();
  for (const ChatMessage& message : trace.messages) messages.push_back(message_json(message));
  nlohmann::json out = {{"step_id", trace.step_id},     {"kind", trace.kind},
                        {"output", trace.output},       {"latency_ms", trace.latency_ms},
                        {"tokens_in", trace.tokens_in}, {"tokens_out", trace.tokens_out},
                        {"model_calls", trace.model_calls}};
  if (trace.iteration > 0) out["iteration"] = trace.iteration;
  if (trace.skipped) out["skipped"] = true;
  if (!messages.empty()) out["messages"] = std::move(messages);
  if (!trace.raw_reply.empty() && trace.raw_reply != trace.output) out["raw_reply"] = trace.raw_reply;
  if (trace.cached) out["cached"] = true;
  if (trace.error) out["error"] = *trace.error;
  if (trace.infrastructure_error) out["infrastructure_error"] = true;
  if (!trace.detail.empty()) out["detail"] = trace.detail;
  return out;
}

nlohmann::json to_json(const CaseTrace& trace) {
  nlohmann::json steps = nlohmann::json::array();
  for (const StepTrace& step : trace.steps) steps.push_back(to_json(step));
  nlohmann::json out = {{"case_id", trace.case_id},       {"final_output", trace.final_output},
                        {"steps", std::move(steps)},      {"latency_ms", trace.latency_ms},
                        {"tokens_in", trace.tokens_in},   {"tokens_out", trace.tokens_out},
                        {"model_calls", trace.model_calls}};
  if (trace.error) out["error"] = *trace.error;
  if (trace.infrastructure_failure) out["infrastructure_failure"] = true;
  return out;
}

StepTrace step_trace_from_json(const nlohmann::json& json) {
  StepTrace trace;
  trace.step_id = json.value("step_id", "");
  trace.kind = json.value("kind", "");
  trace.iteration = json.value("iteration", 0);
  trace.skipped = json.value("skipped", false);
  trace.output = json.value("output", "");
  if (json.contains("messages")) {
    for (const auto& message : json["messages"]) {
      trace.messages.push_back(message_from_json(message));
    }
  }
  trace.raw_reply = json.value("raw_reply", trace.output);
  trace.latency_ms = json.value("latency_ms", 0.0);
  trace.tokens_in = json.value("tokens_in", 0);
  trace.tokens_out = json.value("tokens_out", 0);
  trace.model_calls = json.value("model_calls", 0);
  trace.cached = json.value("cached", false);
  if (json.contains("error")) trace.error = json["error"].get<std::string>();
  trace.infrastructure_error = json.value("infrastructure_error", false);
  if (json.contains("detail")) trace.detail = json["detail"];
  return trace;
}

CaseTrace case_trace_from_json(const nlohmann::json& json) {
  CaseTrace trace;
  trace.case_id = json.value("case_id", "");
  trace.final_output = json.value("final_output", "");
  if (json.contains("steps")) {
    for (const auto& step : json["steps"]) trace.steps.push_back(step_trace_from_json(step));
  }
  if (json.contains("error")) trace.error = json["error"].get<std::string>();
  trace.infrastructure_failure = json.value("infrastructure_failure", false);
  trace.latency_ms = json.value("latency_ms", 0.0);
  trace.tokens_in = json.value("tokens_in", 0);
  trace.tokens_out = json.value("tokens_out", 0);
  trace.model_calls = json.value("model_calls", 0);
  return trace;
}

}  // namespace fapo
