// Tool calling: the tools a request offers a model and the calls a model makes. Providers speak
// different wire formats (OpenAI `tools`/`tool_calls`, Anthropic `tool_use` blocks); these plain
// values are the common shape the clients translate to and from. The types are meant to become
// optional members of ChatMessage, ModelRequest and ModelReply; until then a ToolRequest rides
// beside a ModelRequest. Plain values; thread safety is that of std::string.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace fapo {

// A tool the model may call. `parameters` is a JSON Schema object describing the arguments.
struct ToolDefinition {
  std::string name;
  std::string description;
  nlohmann::json parameters = nlohmann::json{{"type", "object"}};
};

// One call a model asked for. `arguments` is the JSON text exactly as the model produced it:
// models sometimes write invalid JSON, and the step that runs the tool decides what to do then.
struct ToolCall {
  std::string id;
  std::string name;
  std::string arguments = "{}";
};

// Tool fields of one conversation message: the calls an assistant turn made, or (for a message
// with role "tool") the id of the call whose result it carries.
struct ToolMessageFields {
  std::vector<ToolCall> tool_calls;
  std::string tool_call_id;
};

// The tool side of a request. `messages` is either empty or parallel to ModelRequest::messages.
// `tool_choice`: "" (provider default), "auto", "none", "required", or the name of one tool.
struct ToolRequest {
  std::vector<ToolDefinition> tools;
  std::string tool_choice;
  std::vector<ToolMessageFields> messages;

  bool empty() const { return tools.empty() && tool_choice.empty() && messages.empty(); }
};

// Canonical JSON forms, used by cache keys and traces.
inline nlohmann::json to_json(const ToolCall& call) {
  return {{"id", call.id}, {"name", call.name}, {"arguments", call.arguments}};
}

inline nlohmann::json to_json(const ToolRequest& request) {
  nlohmann::json tools = nlohmann::json::array();
  for (const auto& tool : request.tools) {
    tools.push_back({{"name", tool.name},
                     {"description", tool.description},
                     {"parameters", tool.parameters}});
  }
  nlohmann::json messages = nlohmann::json::array();
  for (const auto& message : request.messages) {
    nlohmann::json calls = nlohmann::json::array();
    for (const auto& call : message.tool_calls) calls.push_back(to_json(call));
    messages.push_back({{"tool_calls", calls}, {"tool_call_id", message.tool_call_id}});
  }
  return {{"tools", tools}, {"tool_choice", request.tool_choice}, {"messages", messages}};
}

}  // namespace fapo
