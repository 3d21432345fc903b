#include "engine/llm/provider_config.h"

#include <cstdlib>

#include "engine/base/strings.h"
#include "engine/llm/http_transport.h"

namespace fapo {
namespace {

constexpr std::string_view kOpenAiUrl = "https://api.openai.com/v1";
constexpr std::string_view kAnthropicUrl = "https://api.anthropic.com";

Error invalid(const ProviderConfig& config, std::string_view field, std::string_view what) {
  return make_error(ErrorCode::kInvalidInput,
                    config.config_path + "." + std::string(field) + ": " + std::string(what));
}

// The variable to read: the configured one, or the provider's usual one for its public API.
// Servers other than the public APIs (local vLLM, llama.cpp, Ollama) usually take no key.
std::string key_variable(const ProviderConfig& config) {
  if (!config.api_key_env.empty()) return config.api_key_env;
  bool public_api = config.base_url.empty() || config.base_url == default_base_url(config.provider);
  if (!public_api) return "";
  if (config.provider == "openai") return "OPENAI_API_KEY";
  if (config.provider == "anthropic") return "ANTHROPIC_API_KEY";
  return "";
}

}  // namespace

std::string default_base_url(std::string_view provider) {
  if (provider == "openai") return std::string(kOpenAiUrl);
  if (provider == "anthropic") return std::string(kAnthropicUrl);
  return "";
}

std::string effective_base_url(const ProviderConfig& config) {
  return config.base_url.empty() ? default_base_url(config.provider) : config.base_url;
}

bool uses_reasoning_rules(const ProviderConfig& config, std::string_view model) {
  if (config.reasoning.has_value()) return *config.reasoning;
  // "openai/o3-mini" (LiteLLM, OpenRouter) names the same model family as "o3-mini".
  auto slash = model.rfind('/');
  std::string name = to_lower(slash == std::string_view::npos ? model : model.substr(slash + 1));
  for (std::string_view family : {"o1", "o3", "o4", "gpt-5"}) {
    if (!starts_with(name, family)) continue;
    // "o1" must not match "o10x"-style names of other vendors: require an end or a separator.
    if (name.size() == family.size()) return true;
    char next = name[family.size()];
    if (next == '-' || next == '.' || next == '_') return true;
  }
  return false;
}

Status validate_provider_config(const ProviderConfig& config) {
  if (config.provider != "openai" && config.provider != "anthropic") {
    return invalid(config, "provider",
                   "'" + config.provider + "' is not an HTTP provider (use openai or anthropic)");
  }
  if (trim(config.model).empty()) return invalid(config, "model", "must name a model");
  auto base = parse_base_url(effective_base_url(config), config.config_path + ".base_url");
  if (!base.ok()) return base.error();
  if (config.temperature < 0 || config.temperature > 2) {
    return invalid(config, "temperature", "must be between 0 and 2");
  }
  if (config.top_p <= 0 || config.top_p > 1) {
    return invalid(config, "top_p", "must be greater than 0 and at most 1");
  }
  if (config.max_tokens < 1) return invalid(config, "max_tokens", "must be at least 1");
  if (config.timeout_s <= 0) return invalid(config, "timeout_s", "must be greater than 0");
  if (config.retries < 0) return invalid(config, "retries", "must be 0 or more");
  if (config.call_deadline_s < 0) {
    return invalid(config, "call_deadline_s", "must be 0 (no limit) or more");
  }
  if (config.concurrency < 1) return invalid(config, "concurrency", "must be at least 1");
  if (config.requests_per_minute < 0) {
    return invalid(config, "requests_per_minute", "must be 0 (unlimited) or more");
  }
  if (config.tokens_per_minute < 0) {
    return invalid(config, "tokens_per_minute", "must be 0 (unlimited) or more");
  }
  if (config.prices.input_per_mtok < 0 || config.prices.output_per_mtok < 0) {
    return invalid(config, "prices", "prices must not be negative");
  }
  return ok_status();
}

Result<std::string> resolve_api_key(const ProviderConfig& config) {
  std::string variable = key_variable(config);
  if (variable.empty()) return std::string();
  const char* value = std::getenv(variable.c_str());
  if (value == nullptr || trim(value).empty()) {
    return make_error(ErrorCode::kModelPermanent,
                      "environment variable " + variable + " is not set (" + config.config_path +
                          ".api_key_env)");
  }
  return trim(value);
}

std::string mask_secret(std::string_view text, std::string_view secret) {
  if (secret.empty()) return std::string(text);
  std::string out;
  std::size_t from = 0;
  for (auto at = text.find(secret); at != std::string_view::npos; at = text.find(secret, from)) {
    out.append(text.substr(from, at - from));
    out.append("***");
    from = at + secret.size();
  }
  out.append(text.substr(from));
  return out;
}

}  // namespace fapo
