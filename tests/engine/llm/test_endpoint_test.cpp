// The loopback endpoint is test infrastructure; these tests pin the fault and latency syntax
// the other tests and the benchmarks rely on.
#include "bench/endpoint/test_endpoint.h"

#include <doctest/doctest.h>

namespace fapo::bench {

TEST_CASE("parses fault specs with their options and counts") {
  auto limited = parse_fault("429:retry=2");
  REQUIRE(limited.ok());
  CHECK(limited->kind == Fault::kRateLimit);
  CHECK(limited->retry_after == "2");
  CHECK(parse_fault("429:retry=")->retry_after.empty());
  auto hang = parse_fault("hang:750");
  REQUIRE(hang.ok());
  CHECK(hang->kind == Fault::kHang);
  CHECK(hang->hang_ms == 750);
  auto flaky = parse_fault("500*3");
  REQUIRE(flaky.ok());
  CHECK(flaky->kind == Fault::kServerError);
  CHECK(flaky->times == 3);
  CHECK(parse_fault("slow:5")->drip_interval_ms == 5);
  auto bad = parse_fault("teapot");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().message.find("fault 'teapot'") == 0);
  CHECK_FALSE(parse_fault("500*0").ok());
}

TEST_CASE("parses latency distributions") {
  CHECK(parse_latency("50")->a_ms == 50);
  auto uniform = parse_latency("uniform:10:90");
  REQUIRE(uniform.ok());
  CHECK(uniform->kind == Latency::Kind::kUniform);
  CHECK(uniform->b_ms == 90);
  CHECK(parse_latency("exp:20")->kind == Latency::Kind::kExponential);
  CHECK_FALSE(parse_latency("uniform:90:10").ok());
  CHECK_FALSE(parse_latency("fast").ok());
}

TEST_CASE("listens on an ephemeral loopback port and counts what it serves") {
  auto endpoint = TestEndpoint::start();
  REQUIRE(endpoint.ok());
  CHECK((*endpoint)->port() > 0);
  CHECK((*endpoint)->openai_base_url() ==
        "http://127.0.0.1:" + std::to_string((*endpoint)->port()) + "/v1");
  CHECK((*endpoint)->requests() == 0);
  CHECK_FALSE((*endpoint)->last_request().has_value());
}

}  // namespace fapo::bench
