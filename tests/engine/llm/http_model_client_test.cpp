#include "engine/llm/http_model_client.h"

#include <doctest/doctest.h>

#include "tests/engine/llm/endpoint_fixture.h"

namespace fapo {
namespace {

Error failure_for(int status, std::string message = "", std::string code = "") {
  return describe_http_failure(HttpFailure{status,
                                           "https://api.example.com/v1/chat/completions",
                                           "gpt-x",
                                           {std::move(message), std::move(code)},
                                           "task_model"});
}

}  // namespace

TEST_CASE("classifies HTTP statuses into permanent and transient errors with clear wording") {
  struct Case {
    int status;
    const char* message;
    const char* code;
    ErrorCode expected;
    const char* fragment;
  };
  for (Case c : {
           Case{401, "Incorrect API key provided: sk-ab...", "", ErrorCode::kModelPermanent,
                "invalid API key for https://api.example.com/v1/chat/completions (HTTP 401)"},
           Case{403, "region not supported", "", ErrorCode::kModelPermanent,
                "access denied); check the key in the environment variable named by "
                "task_model.api_key_env: region not supported"},
           Case{404, "The model `gpt-x` does not exist", "model_not_found",
                ErrorCode::kModelPermanent, "model not found: gpt-x at https://api.example.com"},
           Case{404, "", "", ErrorCode::kModelPermanent,
                "endpoint not found: https://api.example.com/v1/chat/completions (HTTP 404); "
                "check task_model.base_url"},
           Case{400, "max_tokens is too large", "", ErrorCode::kModelPermanent,
                "request rejected by https://api.example.com/v1/chat/completions (HTTP 400): "
                "max_tokens is too large"},
           Case{422, "bad field", "", ErrorCode::kModelPermanent, "(HTTP 422): bad field"},
           Case{429, "You exceeded your current quota", "insufficient_quota",
                ErrorCode::kModelPermanent, "quota exhausted for"},
           Case{429, "Rate limit reached", "rate_limit_exceeded", ErrorCode::kModelTransient,
                "rate limited by"},
           Case{500, "boom", "", ErrorCode::kModelTransient, "server error from"},
           Case{503, "", "", ErrorCode::kModelTransient, "(HTTP 503)"},
           Case{529, "overloaded", "overloaded_error", ErrorCode::kModelTransient, "(HTTP 529)"},
           Case{408, "", "", ErrorCode::kModelTransient, "(HTTP 408)"},
       }) {
    CAPTURE(c.status);
    CAPTURE(c.message);
    Error error = failure_for(c.status, c.message, c.code);
    CHECK(error.code == c.expected);
    CHECK(testing::contains(error.message, c.fragment));
  }
  // A 401 never repeats the provider's text: it may quote part of the key.
  CHECK_FALSE(testing::contains(failure_for(401, "key sk-ab...").message, "sk-ab"));
}

TEST_CASE("refuses to build a client for a provider without an HTTP client") {
  Scheduler scheduler;
  ProviderConfig config;
  config.provider = "sim";
  config.model = "sim-1";
  auto made = make_provider_client(config, scheduler, {});
  REQUIRE_FALSE(made.ok());
  CHECK(made.error().code == ErrorCode::kInvalidInput);
  CHECK(testing::contains(made.error().message, "task_model.provider: 'sim'"));
}

TEST_CASE("speaks TLS for an https base URL: a plain-HTTP server fails the handshake") {
  testing::EndpointFixture fixture;
  ProviderConfig config = fixture.openai_config();
  config.base_url = "https://127.0.0.1:" + std::to_string(fixture.endpoint->port()) + "/v1";
  config.retries = 0;
  auto reply = fixture.client(config)->complete(testing::user_request("hi"), {});
  REQUIRE_FALSE(reply.ok());
  CHECK(reply.error().code == ErrorCode::kModelTransient);
  CHECK(testing::contains(reply.error().message, "TLS failure talking to https://127.0.0.1:"));
}

TEST_CASE("uses the configured model when a request names none") {
  testing::EndpointFixture fixture;
  auto client = fixture.client(fixture.openai_config());
  ModelRequest request = testing::user_request("hi");
  request.model = "";
  REQUIRE(client->complete(request, {}).ok());
  CHECK(fixture.endpoint->last_request()->body["model"] == "test-model");
  request.model = "override-model";
  REQUIRE(client->complete(request, {}).ok());
  CHECK(fixture.endpoint->last_request()->body["model"] == "override-model");
}

}  // namespace fapo
