// Tool calling: the tools a request offers a model and the calls a model makes. Providers speak
// different wire formats (OpenAI `tools`/`tool_calls`, Anthropic `tool_use` and `tool_result`
// blocks); these plain values are the common shape the clients translate to and from. A
// ModelRequest carries a ToolRequest (the tools offered and the tool choice), each ChatMessage
// its own tool fields (an assistant turn's calls, a "tool" message's call id), and a ModelReply
// the calls the model made. Plain values; thread safety is that of std::string.
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

// The tool side of a request. `tool_choice`: "" (provider default), "auto", "none",
// "required", or the name of one tool.
struct ToolRequest {
  std::vector<ToolDefinition> definitions;
  std::string tool_choice;

  bool empty() const { return definitions.empty() && tool_choice.empty(); }
  // Whether the model may call `name`: it is offered and the choice does not rule it out.
  bool allows(const std::string& name) const {
    if (tool_choice == "none") return false;
    if (!tool_choice.empty() && tool_choice != "auto" && tool_choice != "required" &&
        tool_choice != name) {
      return false;
    }
    for (const auto& tool : definitions) {
      if (tool.name == name) return true;
    }
    return false;
  }
};

// Canonical JSON forms, used by cache keys, stored replies and traces.
inline nlohmann::json to_json(const ToolCall& call) {
  return {{"id", call.id}, {"name", call.name}, {"arguments", call.arguments}};
}

inline nlohmann::json to_json(const std::vector<ToolCall>& calls) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& call : calls) out.push_back(to_json(call));
  return out;
}

inline nlohmann::json to_json(const ToolRequest& request) {
  nlohmann::json tools = nlohmann::json::array();
  for (const auto& tool : request.definitions) {
    tools.push_back({{"name", tool.name},
                     {"description", tool.description},
                     {"parameters", tool.parameters}});
  }
  return {{"tools", tools}, {"tool_choice", request.tool_choice}};
}

}  // namespace fapo
