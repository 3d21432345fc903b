// Shared by the provider tests: a loopback test endpoint, a scheduler on a manual clock (so
// backoffs and Retry-After cost no real time), and configs pointing at the endpoint.
#pragma once

#include <doctest/doctest.h>

#include <memory>
#include <string>

#include "bench/endpoint/test_endpoint.h"
#include "engine/llm/http_model_client.h"
#include "engine/llm/provider_config.h"
#include "engine/llm/scheduler.h"

namespace fapo::testing {

inline SchedulerOptions fixture_scheduler_options() {
  SchedulerOptions options;
  options.jitter_seed = 1;
  return options;
}

struct EndpointFixture {
  explicit EndpointFixture(bench::TestEndpointOptions options = {}) {
    auto started = bench::TestEndpoint::start(std::move(options));
    REQUIRE_MESSAGE(started.ok(), (started.ok() ? "" : started.error().message));
    endpoint = std::move(*started);
  }

  ProviderConfig openai_config() const {
    ProviderConfig config;
    config.provider = "openai";
    config.model = "test-model";
    config.base_url = endpoint->openai_base_url();
    config.timeout_s = 2;
    config.retries = 3;
    return config;
  }

  ProviderConfig anthropic_config() const {
    ProviderConfig config = openai_config();
    config.provider = "anthropic";
    config.model = "claude-test";
    config.base_url = endpoint->anthropic_base_url();
    return config;
  }

  std::unique_ptr<HttpModelClient> client(const ProviderConfig& config,
                                          const CallBindings& bindings = {}) {
    auto made = make_provider_client(config, scheduler, bindings);
    REQUIRE_MESSAGE(made.ok(), (made.ok() ? "" : made.error().message));
    return std::move(*made);
  }

  std::unique_ptr<bench::TestEndpoint> endpoint;
  ManualClock clock;
  Scheduler scheduler{fixture_scheduler_options(), clock};
};

inline ModelRequest user_request(const std::string& text) {
  ModelRequest request;
  request.messages = {{"system", "Answer briefly."}, {"user", text}};
  request.sampling.temperature = 0.7;
  request.sampling.top_p = 0.9;
  request.sampling.max_tokens = 64;
  return request;
}

inline bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace fapo::testing
