#include "engine/llm/http_transport.h"

#include <doctest/doctest.h>

namespace fapo {

TEST_CASE("splits a base URL into scheme, host, port and path prefix") {
  auto openai = parse_base_url("https://api.openai.com/v1/", "task_model.base_url");
  REQUIRE(openai.ok());
  CHECK(openai->scheme == "https");
  CHECK(openai->host == "api.openai.com");
  CHECK(openai->port == 443);
  CHECK(openai->path_prefix == "/v1");
  CHECK(openai->origin() == "https://api.openai.com:443");
  CHECK(openai->url("/v1/chat/completions") == "https://api.openai.com/v1/chat/completions");

  auto local = parse_base_url("HTTP://127.0.0.1:8089", "f");
  REQUIRE(local.ok());
  CHECK(local->scheme == "http");
  CHECK(local->port == 8089);
  CHECK(local->path_prefix.empty());
  CHECK(local->url("/v1/messages") == "http://127.0.0.1:8089/v1/messages");

  auto ipv6 = parse_base_url("http://[::1]:9000/openai/v1", "f");
  REQUIRE(ipv6.ok());
  CHECK(ipv6->host == "[::1]");
  CHECK(ipv6->port == 9000);
  CHECK(ipv6->path_prefix == "/openai/v1");
}

TEST_CASE("rejects base URLs it cannot use, naming the field") {
  for (const char* text : {"api.openai.com/v1", "ftp://x", "http://:80", "http://host:0",
                           "http://host:99999", "http://host/v1?x=1", "http://user@host"}) {
    CAPTURE(text);
    auto parsed = parse_base_url(text, "task_model.base_url");
    REQUIRE_FALSE(parsed.ok());
    CHECK(parsed.error().code == ErrorCode::kInvalidInput);
    CHECK(parsed.error().message.find("task_model.base_url: '") == 0);
  }
}

TEST_CASE("reads Retry-After as seconds or as an HTTP date") {
  auto now = std::chrono::system_clock::from_time_t(1445412480);  // Wed, 21 Oct 2015 07:28:00
  CHECK(parse_retry_after("2", now) == std::chrono::milliseconds(2000));
  CHECK(parse_retry_after(" 1.5 ", now) == std::chrono::milliseconds(1500));
  CHECK(parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT", now) ==
        std::chrono::milliseconds(30000));
  CHECK(parse_retry_after("Wed, 21 Oct 2015 07:00:00 GMT", now) == std::chrono::milliseconds(0));
  CHECK_FALSE(parse_retry_after("soon", now).has_value());
  CHECK_FALSE(parse_retry_after("", now).has_value());
}

TEST_CASE("prefers retry-after-ms over retry-after and matches header names in any case") {
  HttpResponse response;
  response.headers = {{"Retry-After", "3"}, {"retry-after-MS", "250"}};
  CHECK(retry_after_of(response) == std::chrono::milliseconds(250));
  response.headers = {{"RETRY-AFTER", "3"}};
  CHECK(retry_after_of(response) == std::chrono::milliseconds(3000));
  CHECK(response.header("retry-after") == "3");
  CHECK(response.header("missing").empty());
}

}  // namespace fapo
