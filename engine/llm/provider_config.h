// Settings of one model provider (the tenant's `task_model`, or a judge model) and the rules
// that follow from them: defaults, validation, API key lookup, the reasoning-model rule. A
// ProviderConfig is a plain value; the functions are pure or read the environment once, and are
// thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "engine/base/result.h"
#include "engine/llm/cost.h"

namespace fapo {

struct ProviderConfig {
  std::string provider = "openai";  // "openai" | "anthropic"
  std::string model;
  std::string base_url;     // empty: the provider's public API
  std::string api_key_env;  // empty: OPENAI_API_KEY / ANTHROPIC_API_KEY for the public APIs,
                            // no key at all for other servers (local vLLM, llama.cpp, Ollama)
  double temperature = 1.0;
  double top_p = 0.95;
  int max_tokens = 1024;
  double timeout_s = 60;      // one HTTP attempt
  int retries = 4;            // attempts after the first, on transient failures only
  double call_deadline_s = 0;  // a whole call, retries and backoffs included; 0 = no limit
  int concurrency = 8;
  int requests_per_minute = 0;  // 0 = unlimited
  int tokens_per_minute = 0;    // 0 = unlimited
  std::optional<std::int64_t> seed;
  Prices prices;
  // OpenAI reasoning models take no temperature/top_p, want max_completion_tokens and a
  // "developer" role instead of "system". nullopt: decide from the model name.
  std::optional<bool> reasoning;
  // Where these settings came from, for messages: "task_model.api_key_env".
  std::string config_path = "task_model";
};

// "https://api.openai.com/v1" / "https://api.anthropic.com"; empty for unknown providers.
std::string default_base_url(std::string_view provider);
// base_url, or the provider default when it is empty.
std::string effective_base_url(const ProviderConfig& config);

// True for OpenAI reasoning models (o1, o3, o4 and gpt-5 families, also behind a "vendor/"
// prefix), unless `config.reasoning` says otherwise.
bool uses_reasoning_rules(const ProviderConfig& config, std::string_view model);

// Checks names and ranges; the message names the field: "task_model.concurrency: must be ≥ 1".
Status validate_provider_config(const ProviderConfig& config);

// The API key from the environment variable the config names ("" when none is needed). A named
// but unset variable is a kModelPermanent error, so a run fails before its first case.
Result<std::string> resolve_api_key(const ProviderConfig& config);

// `text` with every occurrence of `secret` replaced by "***". Applied to anything a provider
// sends back before it can reach an error message or a log.
std::string mask_secret(std::string_view text, std::string_view secret);

}  // namespace fapo
