#include "engine/llm/openai_client.h"

namespace fapo {
namespace {

using nlohmann::json;

Error malformed(const std::string& what) {
  return make_error(ErrorCode::kModelTransient, what);
}

json encode_tool_calls(const std::vector<ToolCall>& calls) {
  json out = json::array();
  for (const auto& call : calls) {
    out.push_back({{"id", call.id},
                   {"type", "function"},
                   {"function", {{"name", call.name}, {"arguments", call.arguments}}}});
  }
  return out;
}

json encode_message(const ChatMessage& message, bool reasoning) {
  // Reasoning models take instructions from the "developer" role; "system" is rejected by some.
  const std::string role = reasoning && message.role == "system" ? "developer" : message.role;
  json out{{"role", role}, {"content", message.content}};
  if (!message.tool_calls.empty()) {
    out["tool_calls"] = encode_tool_calls(message.tool_calls);
    if (message.content.empty()) out["content"] = nullptr;
  }
  if (!message.tool_call_id.empty()) out["tool_call_id"] = message.tool_call_id;
  return out;
}

json encode_tools(const ToolRequest& tools) {
  json out = json::array();
  for (const auto& tool : tools.definitions) {
    out.push_back({{"type", "function"},
                   {"function",
                    {{"name", tool.name},
                     {"description", tool.description},
                     {"parameters", tool.parameters}}}});
  }
  return out;
}

json encode_tool_choice(const std::string& choice) {
  if (choice == "auto" || choice == "none" || choice == "required") return choice;
  return {{"type", "function"}, {"function", {{"name", choice}}}};
}

// Content is a string, null (tool calls only), or — from some servers — a list of text parts.
std::string decode_content(const json& content) {
  if (content.is_string()) return content.get<std::string>();
  std::string text;
  if (content.is_array()) {
    for (const auto& part : content) {
      if (part.is_object() && part.value("type", "") == "text") text += part.value("text", "");
    }
  }
  return text;
}

std::vector<ToolCall> decode_tool_calls(const json& message) {
  std::vector<ToolCall> calls;
  auto found = message.find("tool_calls");
  if (found == message.end() || !found->is_array()) return calls;
  for (const auto& item : *found) {
    ToolCall call;
    call.id = item.value("id", "");
    const json& function = item.at("function");
    call.name = function.value("name", "");
    const json& arguments = function.value("arguments", json("{}"));
    // The API sends a JSON string; a few compatible servers send the object itself.
    call.arguments = arguments.is_string() ? arguments.get<std::string>() : arguments.dump();
    calls.push_back(std::move(call));
  }
  return calls;
}

int usage_count(const json& body, const char* field) {
  auto usage = body.find("usage");
  if (usage == body.end() || !usage->is_object()) return 0;
  auto value = usage->find(field);
  return value != usage->end() && value->is_number_integer() ? value->get<int>() : 0;
}

}  // namespace

json openai_request_body(const ModelRequest& request, bool reasoning) {
  const ToolRequest& tools = request.tools;
  json messages = json::array();
  for (const ChatMessage& message : request.messages) {
    messages.push_back(encode_message(message, reasoning));
  }
  json body{{"model", request.model}, {"messages", messages}};
  if (reasoning) {
    body["max_completion_tokens"] = request.sampling.max_tokens;
  } else {
    body["temperature"] = request.sampling.temperature;
    body["top_p"] = request.sampling.top_p;
    body["max_tokens"] = request.sampling.max_tokens;
  }
  if (request.sampling.seed) body["seed"] = *request.sampling.seed;
  if (!tools.definitions.empty()) body["tools"] = encode_tools(tools);
  if (!tools.tool_choice.empty()) body["tool_choice"] = encode_tool_choice(tools.tool_choice);
  return body;
}

Result<ModelReply> parse_openai_reply(const json& body) {
  if (!body.is_object()) return malformed("the reply is not a JSON object");
  auto choices = body.find("choices");
  if (choices == body.end() || !choices->is_array() || choices->empty()) {
    if (body.contains("error")) {
      return malformed("the reply carries an error: " + body["error"].dump().substr(0, 300));
    }
    return malformed("the reply has no choices");
  }
  const json& choice = choices->front();
  auto message = choice.find("message");
  if (message == choice.end() || !message->is_object()) {
    return malformed("the first choice has no message");
  }
  ModelReply out;
  out.text = decode_content(message->value("content", json()));
  out.tool_calls = decode_tool_calls(*message);
  const json& finish = choice.value("finish_reason", json());
  out.finish_reason = finish.is_string() ? finish.get<std::string>() : "";
  // Some compatible servers report "stop" even when the turn ends in tool calls.
  if (!out.tool_calls.empty() && out.finish_reason == "stop") out.finish_reason = "tool_calls";
  out.tokens_in = usage_count(body, "prompt_tokens");
  out.tokens_out = usage_count(body, "completion_tokens");
  return out;
}

Result<std::unique_ptr<OpenAiClient>> OpenAiClient::create(const ProviderConfig& config,
                                                           Scheduler& scheduler,
                                                           const CallBindings& bindings) {
  if (config.provider != "openai") {
    return make_error(ErrorCode::kInvalidInput, config.config_path + ".provider: expected openai");
  }
  FAPO_ASSIGN_OR_RETURN(HttpClientSetup setup, prepare_http_client(config));
  // The constructor is protected, so make_unique cannot reach it.
  return std::unique_ptr<OpenAiClient>(new OpenAiClient(std::move(setup), scheduler, bindings));
}

HttpHeaders OpenAiClient::auth_headers(const std::string& api_key) const {
  if (api_key.empty()) return {};
  return {{"Authorization", "Bearer " + api_key}};
}

json OpenAiClient::encode(const ModelRequest& request) const {
  return openai_request_body(request, uses_reasoning_rules(config(), request.model));
}

Result<ModelReply> OpenAiClient::decode(const json& body) const { return parse_openai_reply(body); }

ProviderErrorBody OpenAiClient::error_body(const json& body) const {
  // {"error": {"message": "...", "type": "...", "code": "model_not_found"}}; some compatible
  // servers send {"error": "text"} or {"detail": "text"}.
  ProviderErrorBody out;
  auto error = body.find("error");
  if (error != body.end() && error->is_object()) {
    out.message = error->value("message", "");
    const json& code = error->value("code", json());
    out.code = code.is_string() ? code.get<std::string>() : error->value("type", "");
  } else if (error != body.end() && error->is_string()) {
    out.message = error->get<std::string>();
  } else if (body.contains("detail") && body["detail"].is_string()) {
    out.message = body["detail"].get<std::string>();
  } else {
    out.message = body.dump().substr(0, 300);
  }
  return out;
}

}  // namespace fapo
