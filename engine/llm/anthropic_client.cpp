#include "engine/llm/anthropic_client.h"

#include <spdlog/spdlog.h>

namespace fapo {
namespace {

using nlohmann::json;

Error malformed(const std::string& what) {
  return make_error(ErrorCode::kModelTransient, what);
}

// Tool arguments arrive as JSON text; the Messages API wants the object.
json arguments_object(const std::string& arguments) {
  auto parsed = json::parse(arguments, nullptr, /*allow_exceptions=*/false);
  return parsed.is_object() ? parsed : json::object();
}

json tool_result_block(const ChatMessage& message) {
  return {{"type", "tool_result"},
          {"tool_use_id", message.tool_call_id},
          {"content", message.content}};
}

json encode_message(const ChatMessage& message) {
  if (message.role == "tool") {
    // A tool result travels as a user turn holding a tool_result block.
    return {{"role", "user"}, {"content", json::array({tool_result_block(message)})}};
  }
  if (message.tool_calls.empty()) return {{"role", message.role}, {"content", message.content}};
  json blocks = json::array();
  if (!message.content.empty()) blocks.push_back({{"type", "text"}, {"text", message.content}});
  for (const auto& call : message.tool_calls) {
    blocks.push_back({{"type", "tool_use"},
                      {"id", call.id},
                      {"name", call.name},
                      {"input", arguments_object(call.arguments)}});
  }
  return {{"role", message.role}, {"content", blocks}};
}

// The results of one assistant turn's calls must all arrive in the single user turn that
// follows it, so consecutive tool messages share one turn.
bool continues_tool_results(const json& messages, const ChatMessage& message) {
  if (message.role != "tool" || messages.empty()) return false;
  const json& previous = messages.back();
  return previous["role"] == "user" && previous["content"].is_array() &&
         !previous["content"].empty() && previous["content"].back()["type"] == "tool_result";
}

json encode_tools(const ToolRequest& tools) {
  json list = json::array();
  for (const auto& tool : tools.definitions) {
    list.push_back({{"name", tool.name},
                    {"description", tool.description},
                    {"input_schema", tool.parameters}});
  }
  return list;
}

json encode_tool_choice(const std::string& choice) {
  if (choice == "auto") return {{"type", "auto"}};
  if (choice == "required") return {{"type", "any"}};
  if (choice == "none") return {{"type", "none"}};
  return {{"type", "tool"}, {"name", choice}};
}

// Sends whichever of temperature and top_p differs from the API default of 1.0; recent models
// reject the two together, and Anthropic advises changing only one.
void add_sampling(json& body, const SamplingParams& sampling) {
  const bool temperature_set = sampling.temperature != 1.0;
  const bool top_p_set = sampling.top_p < 1.0;
  if (temperature_set || !top_p_set) body["temperature"] = sampling.temperature;
  if (top_p_set && !temperature_set) body["top_p"] = sampling.top_p;
  if (top_p_set && temperature_set) {
    spdlog::debug("anthropic: top_p {} not sent because temperature {} is set", sampling.top_p,
                  sampling.temperature);
  }
}

std::string finish_reason_of(const json& stop_reason) {
  if (!stop_reason.is_string()) return "";
  const std::string reason = stop_reason.get<std::string>();
  if (reason == "end_turn" || reason == "stop_sequence") return "stop";
  if (reason == "max_tokens") return "length";
  if (reason == "tool_use") return "tool_calls";
  return reason;
}

}  // namespace

json anthropic_request_body(const ModelRequest& request) {
  std::string system;
  json messages = json::array();
  for (const ChatMessage& message : request.messages) {
    if (message.role == "system") {
      if (!system.empty()) system += "\n\n";
      system += message.content;
    } else if (continues_tool_results(messages, message)) {
      messages.back()["content"].push_back(tool_result_block(message));
    } else {
      messages.push_back(encode_message(message));
    }
  }
  json body{{"model", request.model},
            {"max_tokens", request.sampling.max_tokens},
            {"messages", messages}};
  if (!system.empty()) body["system"] = system;
  add_sampling(body, request.sampling);
  const ToolRequest& tools = request.tools;
  if (!tools.definitions.empty()) body["tools"] = encode_tools(tools);
  if (!tools.tool_choice.empty()) body["tool_choice"] = encode_tool_choice(tools.tool_choice);
  return body;
}

Result<ModelReply> parse_anthropic_reply(const json& body) {
  if (!body.is_object()) return malformed("the reply is not a JSON object");
  auto content = body.find("content");
  if (content == body.end() || !content->is_array()) return malformed("the reply has no content");
  ModelReply out;
  for (const auto& block : *content) {
    const std::string type = block.value("type", "");
    if (type == "text") {
      out.text += block.value("text", "");
    } else if (type == "tool_use") {
      out.tool_calls.push_back(ToolCall{block.value("id", ""), block.value("name", ""),
                                        block.value("input", json::object()).dump()});
    }
  }
  out.finish_reason = finish_reason_of(body.value("stop_reason", json()));
  auto usage = body.find("usage");
  if (usage != body.end() && usage->is_object()) {
    out.tokens_in = usage->value("input_tokens", 0);
    out.tokens_out = usage->value("output_tokens", 0);
  }
  return out;
}

Result<std::unique_ptr<AnthropicClient>> AnthropicClient::create(const ProviderConfig& config,
                                                                 Scheduler& scheduler,
                                                                 const CallBindings& bindings) {
  if (config.provider != "anthropic") {
    return make_error(ErrorCode::kInvalidInput,
                      config.config_path + ".provider: expected anthropic");
  }
  FAPO_ASSIGN_OR_RETURN(HttpClientSetup setup, prepare_http_client(config));
  // The constructor is protected, so make_unique cannot reach it.
  return std::unique_ptr<AnthropicClient>(
      new AnthropicClient(std::move(setup), scheduler, bindings));
}

HttpHeaders AnthropicClient::auth_headers(const std::string& api_key) const {
  HttpHeaders headers{{"anthropic-version", kAnthropicVersion}};
  if (!api_key.empty()) headers.emplace_back("x-api-key", api_key);
  return headers;
}

json AnthropicClient::encode(const ModelRequest& request) const {
  return anthropic_request_body(request);
}

Result<ModelReply> AnthropicClient::decode(const json& body) const {
  return parse_anthropic_reply(body);
}

ProviderErrorBody AnthropicClient::error_body(const json& body) const {
  // {"type": "error", "error": {"type": "not_found_error", "message": "model: claude-x"}}
  ProviderErrorBody out;
  auto error = body.find("error");
  if (error != body.end() && error->is_object()) {
    out.message = error->value("message", "");
    out.code = error->value("type", "");
  } else {
    out.message = body.dump().substr(0, 300);
  }
  return out;
}

}  // namespace fapo
