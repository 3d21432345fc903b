#include "mcp_server/transport/http_checks.h"

#include <doctest/doctest.h>

namespace fapo::mcp {
namespace {

TEST_CASE("parses listen addresses and rejects malformed ones with an example") {
  auto v4 = parse_listen_address("127.0.0.1:0");
  REQUIRE(v4.ok());
  CHECK(v4->host == "127.0.0.1");
  CHECK(v4->port == 0);
  auto v6 = parse_listen_address("[::1]:8765");
  REQUIRE(v6.ok());
  CHECK(v6->host == "::1");
  CHECK(v6->port == 8765);
  CHECK(parse_listen_address("localhost:80").ok());
  for (const char* bad : {"127.0.0.1", "127.0.0.1:99999", ":80", "example.com:80", "1.2.3.4:x"}) {
    CAPTURE(bad);
    auto parsed = parse_listen_address(bad);
    REQUIRE_FALSE(parsed.ok());
    CHECK(parsed.error().message.find("e.g. 127.0.0.1:8765") != std::string::npos);
  }
}

TEST_CASE("recognises loopback hosts") {
  for (const char* host :
       {"localhost", "LOCALHOST", "127.0.0.1", "127.1.2.3", "::1", "[::1]", "::ffff:127.0.0.1"}) {
    CAPTURE(host);
    CHECK(is_loopback_host(host));
  }
  for (const char* host : {"0.0.0.0", "10.0.0.1", "evil.com", "localhost.evil.com", "::", ""}) {
    CAPTURE(host);
    CHECK_FALSE(is_loopback_host(host));
  }
}

TEST_CASE("Host must be a loopback name at the bound port") {
  const HostPolicy policy{8765, true};
  for (const char* host : {"127.0.0.1:8765", "localhost:8765", "[::1]:8765"}) {
    CAPTURE(host);
    CHECK(is_allowed_host(policy, host));
  }
  for (const char* host :
       {"evil.com:8765", "127.0.0.1:8766", "localhost", "", "[::1]", "attacker.example"}) {
    CAPTURE(host);
    CHECK_FALSE(is_allowed_host(policy, host));
  }
  CHECK(is_allowed_host(HostPolicy{80, true}, "localhost"));
}

TEST_CASE("any Host passes when the server is bound elsewhere behind a token") {
  CHECK(is_allowed_host(HostPolicy{8765, false}, "myhost.lan:8765"));
}

TEST_CASE("Origin may be absent, loopback at any port, or the same origin") {
  CHECK(is_allowed_origin("", "127.0.0.1:8765"));
  CHECK(is_allowed_origin("http://localhost:3000", "127.0.0.1:8765"));
  CHECK(is_allowed_origin("http://127.0.0.1:8765", "127.0.0.1:8765"));
  CHECK(is_allowed_origin("https://[::1]:6274", "127.0.0.1:8765"));
  CHECK(is_allowed_origin("http://myhost.lan:8765", "myhost.lan:8765"));
  CHECK_FALSE(is_allowed_origin("http://evil.com", "127.0.0.1:8765"));
  CHECK_FALSE(is_allowed_origin("http://localhost.evil.com", "127.0.0.1:8765"));
  CHECK_FALSE(is_allowed_origin("null", "127.0.0.1:8765"));
  CHECK_FALSE(is_allowed_origin("file://", "127.0.0.1:8765"));
}

TEST_CASE("Accept must admit both JSON and event streams") {
  CHECK(accepts_json_and_event_stream("application/json, text/event-stream"));
  CHECK(accepts_json_and_event_stream("text/event-stream;q=0.9, application/json"));
  CHECK(accepts_json_and_event_stream("*/*"));
  CHECK_FALSE(accepts_json_and_event_stream("application/json"));
  CHECK_FALSE(accepts_json_and_event_stream("text/event-stream"));
  CHECK_FALSE(accepts_json_and_event_stream(""));
  CHECK_FALSE(accepts_json_and_event_stream("text/html"));
}

TEST_CASE("Content-Type must be application/json, parameters allowed") {
  CHECK(is_json_content_type("application/json"));
  CHECK(is_json_content_type("Application/JSON; charset=utf-8"));
  CHECK_FALSE(is_json_content_type("text/plain"));
  CHECK_FALSE(is_json_content_type(""));
  CHECK_FALSE(is_json_content_type("application/json-patch+json"));
}

TEST_CASE("the bearer token must match exactly") {
  CHECK(bearer_token_matches("Bearer s3cret", "s3cret"));
  CHECK(bearer_token_matches("bearer s3cret", "s3cret"));
  CHECK_FALSE(bearer_token_matches("Bearer s3cre", "s3cret"));
  CHECK_FALSE(bearer_token_matches("Bearer s3cret2", "s3cret"));
  CHECK_FALSE(bearer_token_matches("Basic s3cret", "s3cret"));
  CHECK_FALSE(bearer_token_matches("", "s3cret"));
  CHECK_FALSE(bearer_token_matches("Bearer ", ""));
}

}  // namespace
}  // namespace fapo::mcp
