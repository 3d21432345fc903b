#include "engine/llm/provider_config.h"

#include <doctest/doctest.h>

#include <cstdlib>

namespace fapo {

TEST_CASE("recognises reasoning models by family, also behind a vendor prefix") {
  ProviderConfig config;
  for (const char* model : {"o1", "o1-mini", "o3-mini", "o4-mini-2025-04-16", "gpt-5",
                            "gpt-5.4-mini", "openai/o3", "GPT-5-nano"}) {
    CAPTURE(model);
    CHECK(uses_reasoning_rules(config, model));
  }
  for (const char* model : {"gpt-4.1-mini", "gpt-4o", "o10-custom", "llama-3-8b", "gpt-50x"}) {
    CAPTURE(model);
    CHECK_FALSE(uses_reasoning_rules(config, model));
  }
  config.reasoning = false;
  CHECK_FALSE(uses_reasoning_rules(config, "o3-mini"));
  config.reasoning = true;
  CHECK(uses_reasoning_rules(config, "my-local-thinker"));
}

TEST_CASE("names the field and the problem when a setting is out of range") {
  ProviderConfig config;
  config.model = "gpt-4.1-mini";
  CHECK(validate_provider_config(config).ok());
  config.concurrency = 0;
  auto status = validate_provider_config(config);
  REQUIRE_FALSE(status.ok());
  CHECK(status.error().code == ErrorCode::kInvalidInput);
  CHECK(status.error().message == "task_model.concurrency: must be at least 1");
  config.concurrency = 4;
  config.base_url = "ftp://example.com";
  config.config_path = "judge_model";
  status = validate_provider_config(config);
  REQUIRE_FALSE(status.ok());
  CHECK(status.error().message.find("judge_model.base_url: 'ftp://example.com' must start with "
                                    "http:// or https://") == 0);
  config.base_url = "";
  config.provider = "sim";
  status = validate_provider_config(config);
  REQUIRE_FALSE(status.ok());
  CHECK(status.error().message.find("judge_model.provider: 'sim'") == 0);
}

TEST_CASE("reads the key from the named variable, or the provider's usual one for its public API") {
  ProviderConfig config;
  config.model = "gpt-4.1-mini";
  ::setenv("FAPO_TEST_NAMED_KEY", "  sk-named  ", 1);
  config.api_key_env = "FAPO_TEST_NAMED_KEY";
  CHECK(*resolve_api_key(config) == "sk-named");

  config.api_key_env = "";
  ::unsetenv("OPENAI_API_KEY");
  auto missing = resolve_api_key(config);
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().code == ErrorCode::kModelPermanent);
  CHECK(missing.error().message ==
        "environment variable OPENAI_API_KEY is not set (task_model.api_key_env)");

  config.base_url = "http://127.0.0.1:8000/v1";  // a local server: no key needed
  CHECK(resolve_api_key(config)->empty());

  config.provider = "anthropic";
  config.base_url = "";
  ::unsetenv("ANTHROPIC_API_KEY");
  CHECK(resolve_api_key(config).error().message.find("ANTHROPIC_API_KEY") != std::string::npos);
}

TEST_CASE("masks every occurrence of a secret and leaves other text alone") {
  CHECK(mask_secret("key sk-1 and sk-1 again", "sk-1") == "key *** and *** again");
  CHECK(mask_secret("nothing here", "sk-1") == "nothing here");
  CHECK(mask_secret("no secret configured", "") == "no secret configured");
}

TEST_CASE("uses the public API address when no base URL is configured") {
  ProviderConfig config;
  CHECK(effective_base_url(config) == "https://api.openai.com/v1");
  config.provider = "anthropic";
  CHECK(effective_base_url(config) == "https://api.anthropic.com");
  config.base_url = "http://localhost:8080";
  CHECK(effective_base_url(config) == "http://localhost:8080");
}

}  // namespace fapo
