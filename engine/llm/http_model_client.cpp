#include "engine/llm/http_model_client.h"

#include <spdlog/spdlog.h>

#include "engine/base/strings.h"
#include "engine/llm/anthropic_client.h"
#include "engine/llm/openai_client.h"

namespace fapo {
namespace {

constexpr std::size_t kMaxDetailBytes = 300;

std::string with_detail(std::string message, const ProviderErrorBody& body) {
  if (!body.message.empty()) message += ": " + truncate_utf8(body.message, kMaxDetailBytes);
  return message;
}

bool mentions_model(const ProviderErrorBody& body) {
  return to_lower(body.code).find("model") != std::string::npos ||
         to_lower(body.message).find("model") != std::string::npos;
}

std::string status_text(int status) { return "HTTP " + std::to_string(status); }

}  // namespace

Error describe_http_failure(const HttpFailure& failure) {
  const std::string status = status_text(failure.status);
  const std::string key_hint = "; check the key in the environment variable named by " +
                               failure.config_path + ".api_key_env";
  switch (failure.status) {
    case 401:
      // The provider's text may quote part of the key, so none of it is repeated here.
      return make_error(ErrorCode::kModelPermanent,
                        "invalid API key for " + failure.url + " (" + status + ")" + key_hint);
    case 403:
      return make_error(ErrorCode::kModelPermanent,
                        with_detail("invalid API key for " + failure.url + " (" + status +
                                        ", access denied)" + key_hint,
                                    failure.body));
    case 404:
      if (mentions_model(failure.body)) {
        return make_error(ErrorCode::kModelPermanent,
                          with_detail("model not found: " + failure.model + " at " + failure.url +
                                          " (" + status + "); check " + failure.config_path +
                                          ".model",
                                      failure.body));
      }
      return make_error(ErrorCode::kModelPermanent,
                        "endpoint not found: " + failure.url + " (" + status + "); check " +
                            failure.config_path + ".base_url (OpenAI-compatible servers usually "
                            "end in /v1)");
    case 429:
      // OpenAI reports an exhausted balance as a 429 too; waiting does not refill it.
      if (failure.body.code == "insufficient_quota") {
        return make_error(ErrorCode::kModelPermanent,
                          with_detail("quota exhausted for " + failure.url + " (" + status + ")",
                                      failure.body));
      }
      return make_error(ErrorCode::kModelTransient,
                        with_detail("rate limited by " + failure.url + " (" + status + ")",
                                    failure.body));
    default:
      break;
  }
  if (failure.status >= 500 || failure.status == 408 || failure.status == 409 ||
      failure.status == 425) {
    return make_error(ErrorCode::kModelTransient,
                      with_detail("server error from " + failure.url + " (" + status + ")",
                                  failure.body));
  }
  return make_error(ErrorCode::kModelPermanent,
                    with_detail("request rejected by " + failure.url + " (" + status + ")",
                                failure.body));
}

Result<HttpClientSetup> prepare_http_client(const ProviderConfig& config) {
  FAPO_RETURN_IF_ERROR(validate_provider_config(config));
  FAPO_ASSIGN_OR_RETURN(std::string key, resolve_api_key(config));
  FAPO_ASSIGN_OR_RETURN(
      BaseUrl base, parse_base_url(effective_base_url(config), config.config_path + ".base_url"));
  FAPO_ASSIGN_OR_RETURN(std::unique_ptr<HttpTransport> transport, make_http_transport(base));
  return HttpClientSetup{config, std::move(key), std::move(base), std::move(transport)};
}

HttpModelClient::HttpModelClient(HttpClientSetup setup, Scheduler& scheduler,
                                 CallBindings bindings)
    : setup_(std::move(setup)), scheduler_(scheduler), bindings_(std::move(bindings)) {}

std::string HttpModelClient::model_of(const ModelRequest& request) const {
  return request.model.empty() ? setup_.config.model : request.model;
}

CallSpec HttpModelClient::spec_for(const ModelRequest& request, const std::string& model) const {
  const ProviderConfig& config = setup_.config;
  CallSpec spec;
  const std::string base_url = setup_.base.url(setup_.base.path_prefix);
  spec.lane = config.provider + " " + base_url + " " + model;
  spec.description = config.provider + " " + model + " at " + base_url;
  spec.limits = LaneLimits{config.concurrency, config.requests_per_minute,
                           config.tokens_per_minute};
  spec.retry.retries = config.retries;
  spec.retry.attempt_timeout = Millis(static_cast<std::int64_t>(config.timeout_s * 1000));
  spec.retry.call_deadline = Millis(static_cast<std::int64_t>(config.call_deadline_s * 1000));
  spec.prices = config.prices;
  spec.estimated_tokens = estimate_request_tokens(request);
  return spec;
}

Result<ModelReply> HttpModelClient::complete(const ModelRequest& request,
                                             const CallContext&) {
  ModelRequest effective = request;
  effective.model = model_of(request);
  const std::string body = encode(effective).dump();
  return scheduler_.call(spec_for(effective, effective.model), bindings_, [&](Millis timeout) {
    return attempt(body, effective.model, timeout);
  });
}

AttemptOutcome HttpModelClient::attempt(const std::string& body, const std::string& model,
                                        Millis timeout) const {
  const std::string path = setup_.base.path_prefix + endpoint_path();
  const std::string url = setup_.base.url(path);
  HttpRequest request{path, auth_headers(setup_.api_key), body, timeout};
  const auto start = std::chrono::steady_clock::now();
  auto exchanged = setup_.transport->post(request);
  if (auto* failure = std::get_if<TransportError>(&exchanged)) {
    return {make_error(ErrorCode::kModelTransient, mask_secret(failure->message, setup_.api_key)),
            std::nullopt};
  }
  const HttpResponse& response = std::get<HttpResponse>(exchanged);
  spdlog::debug("POST {} -> HTTP {} in {:.1f} ms", url, response.status,
                std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
                    .count());
  if (response.status < 200 || response.status >= 300) return failed_status(response, url, model);

  auto json = nlohmann::json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) {
    return {make_error(ErrorCode::kModelTransient,
                       "malformed JSON in the reply from " + url + " (HTTP " +
                           std::to_string(response.status) + ", " +
                           std::to_string(response.body.size()) + " bytes)"),
            std::nullopt};
  }
  Result<ModelReply> decoded = make_error(ErrorCode::kInternal, "not decoded");
  try {
    decoded = decode(json);
  } catch (const nlohmann::json::exception& error) {
    decoded = make_error(ErrorCode::kModelTransient, std::string("unexpected field type: ") +
                                                         error.what());
  }
  if (!decoded.ok()) {
    return {make_error(decoded.error().code,
                       "unusable reply from " + url + ": " +
                           mask_secret(decoded.error().message, setup_.api_key)),
            std::nullopt};
  }
  decoded->latency_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  return {std::move(decoded), std::nullopt};
}

AttemptOutcome HttpModelClient::failed_status(const HttpResponse& response,
                                              const std::string& url,
                                              const std::string& model) const {
  auto json = nlohmann::json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  ProviderErrorBody body;
  if (json.is_discarded()) {
    body.message = truncate_utf8(trim(response.body), kMaxDetailBytes);
  } else {
    try {
      body = error_body(json);
    } catch (const nlohmann::json::exception&) {
      body.message = truncate_utf8(json.dump(), kMaxDetailBytes);
    }
  }
  body.message = mask_secret(body.message, setup_.api_key);
  body.code = mask_secret(body.code, setup_.api_key);
  HttpFailure failure{response.status, url, model, body, setup_.config.config_path};
  std::optional<Millis> retry_after;
  if (response.status == 429 || response.status == 503) retry_after = retry_after_of(response);
  return {describe_http_failure(failure), retry_after};
}

Result<std::unique_ptr<HttpModelClient>> make_provider_client(const ProviderConfig& config,
                                                              Scheduler& scheduler,
                                                              const CallBindings& bindings) {
  if (config.provider == "openai") {
    FAPO_ASSIGN_OR_RETURN(auto client, OpenAiClient::create(config, scheduler, bindings));
    return std::unique_ptr<HttpModelClient>(std::move(client));
  }
  if (config.provider == "anthropic") {
    FAPO_ASSIGN_OR_RETURN(auto client, AnthropicClient::create(config, scheduler, bindings));
    return std::unique_ptr<HttpModelClient>(std::move(client));
  }
  return make_error(ErrorCode::kInvalidInput,
                    config.config_path + ".provider: '" + config.provider +
                        "' has no HTTP client (use openai or anthropic)");
}

}  // namespace fapo
