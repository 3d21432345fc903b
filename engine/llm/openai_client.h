// The `openai` provider: any OpenAI-compatible chat-completions endpoint (OpenAI, vLLM,
// llama.cpp server, Ollama, LiteLLM, Baseten), POST {base_url}/chat/completions with a bearer
// key. Reasoning models (o1/o3/o4/gpt-5, or config.reasoning) get their own request shape: no
// temperature or top_p, max_completion_tokens, and "developer" instead of "system".
// Thread-safe, like every ModelClient.
#pragma once

#include <memory>

#include <nlohmann/json.hpp>

#include "engine/llm/http_model_client.h"

namespace fapo {

class OpenAiClient : public HttpModelClient {
 public:
  // Reads the key now: a missing key is an error here, before any call.
  static Result<std::unique_ptr<OpenAiClient>> create(const ProviderConfig& config,
                                                      Scheduler& scheduler,
                                                      const CallBindings& bindings);

 protected:
  std::string endpoint_path() const override { return "/chat/completions"; }
  HttpHeaders auth_headers(const std::string& api_key) const override;
  nlohmann::json encode(const ModelRequest& request) const override;
  Result<ModelReply> decode(const nlohmann::json& body) const override;
  ProviderErrorBody error_body(const nlohmann::json& body) const override;

 private:
  using HttpModelClient::HttpModelClient;
};

// The wire format, usable without a client.
nlohmann::json openai_request_body(const ModelRequest& request, bool reasoning);
Result<ModelReply> parse_openai_reply(const nlohmann::json& body);

}  // namespace fapo
