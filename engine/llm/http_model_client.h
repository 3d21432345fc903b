// What the OpenAI-compatible and Anthropic clients share: a ModelClient that encodes a request
// into a provider's JSON, posts it through an HttpTransport, and runs each attempt inside the
// process Scheduler (limits, retries, deadlines, cost). Subclasses supply only the wire format.
// The API key is read once at creation and only ever placed in request headers; anything a
// provider sends back is masked before it can reach a message. Thread-safe: complete() may be
// called from many threads at once.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/base/result.h"
#include "engine/llm/http_transport.h"
#include "engine/llm/model.h"
#include "engine/llm/provider_config.h"
#include "engine/llm/scheduler.h"

namespace fapo {

// The provider's own account of a failure, read from an error body.
struct ProviderErrorBody {
  std::string message;
  std::string code;  // "model_not_found", "insufficient_quota", "not_found_error", ...
};

// A reply with an error status, in provider-neutral terms.
struct HttpFailure {
  int status = 0;
  std::string url;  // the endpoint that answered
  std::string model;
  ProviderErrorBody body;   // already masked
  std::string config_path;  // "task_model", to name the setting to check
};

// 401/403 → kModelPermanent "invalid API key for <url>"; 404 → "model not found: <model>" or
// "endpoint not found"; 400, 422 and other 4xx → the provider's message; 408, 409, 429 (except an
// exhausted quota) and 5xx → kModelTransient.
Error describe_http_failure(const HttpFailure& failure);

// Everything a client needs before its first call; building it reads the key and checks the
// config, so a missing key or a bad URL is reported before any case runs.
struct HttpClientSetup {
  ProviderConfig config;
  std::string api_key;
  BaseUrl base;
  std::unique_ptr<HttpTransport> transport;
};
Result<HttpClientSetup> prepare_http_client(const ProviderConfig& config);

class HttpModelClient : public ModelClient {
 public:
  // Offers request.tools and returns the calls the model made in ModelReply::tool_calls.
  Result<ModelReply> complete(const ModelRequest& request, const CallContext& context) override;
  std::string provider() const override { return setup_.config.provider; }
  const ProviderConfig& config() const { return setup_.config; }

 protected:
  // `scheduler` must outlive the client.
  HttpModelClient(HttpClientSetup setup, Scheduler& scheduler, CallBindings bindings);

  // The path under the base URL's prefix: "/chat/completions".
  virtual std::string endpoint_path() const = 0;
  virtual HttpHeaders auth_headers(const std::string& api_key) const = 0;
  virtual nlohmann::json encode(const ModelRequest& request) const = 0;
  // Decodes a 2xx body; a body that is not a usable reply is a kModelTransient error.
  virtual Result<ModelReply> decode(const nlohmann::json& body) const = 0;
  virtual ProviderErrorBody error_body(const nlohmann::json& body) const = 0;

  // request.model, or the configured model when the request leaves it empty.
  std::string model_of(const ModelRequest& request) const;

 private:
  AttemptOutcome attempt(const std::string& body, const std::string& model,
                         Millis timeout) const;
  AttemptOutcome failed_status(const HttpResponse& response, const std::string& url,
                               const std::string& model) const;
  CallSpec spec_for(const ModelRequest& request, const std::string& model) const;

  HttpClientSetup setup_;
  Scheduler& scheduler_;
  CallBindings bindings_;
};

// A client for config.provider ("openai" or "anthropic"). Fails before any call when the key is
// missing or the config is invalid.
Result<std::unique_ptr<HttpModelClient>> make_provider_client(const ProviderConfig& config,
                                                              Scheduler& scheduler,
                                                              const CallBindings& bindings);

}  // namespace fapo
