// The `anthropic` provider: the Messages API, POST {base_url}/v1/messages with x-api-key and
// anthropic-version headers. System messages become the top-level `system` prompt; stop
// reasons are reported in the OpenAI vocabulary (end_turn → stop, max_tokens → length,
// tool_use → tool_calls) so the rest of the engine sees one set of values. Tool calls travel as
// tool_use blocks and tool results as tool_result blocks in user turns. Recent models refuse
// temperature and top_p together, so only the one that differs from 1.0 is sent (temperature
// when both do). There is no seed. Thread-safe, like every ModelClient.
#pragma once

#include <memory>

#include <nlohmann/json.hpp>

#include "engine/llm/http_model_client.h"

namespace fapo {

inline constexpr const char* kAnthropicVersion = "2023-06-01";

class AnthropicClient : public HttpModelClient {
 public:
  // Reads the key now: a missing key is an error here, before any call.
  static Result<std::unique_ptr<AnthropicClient>> create(const ProviderConfig& config,
                                                         Scheduler& scheduler,
                                                         const CallBindings& bindings);

 protected:
  std::string endpoint_path() const override { return "/v1/messages"; }
  HttpHeaders auth_headers(const std::string& api_key) const override;
  nlohmann::json encode(const ModelRequest& request) const override;
  Result<ModelReply> decode(const nlohmann::json& body) const override;
  ProviderErrorBody error_body(const nlohmann::json& body) const override;

 private:
  using HttpModelClient::HttpModelClient;
};

nlohmann::json anthropic_request_body(const ModelRequest& request);
Result<ModelReply> parse_anthropic_reply(const nlohmann::json& body);

}  // namespace fapo
