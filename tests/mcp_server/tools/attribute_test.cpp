#include <doctest/doctest.h>

#include "tests/mcp_server/tools/tool_test_support.h"

namespace fapo::mcp::testing {
namespace {

TEST_CASE("attribute explains a train run's failures with clusters, ceilings and case evidence") {
  ToolFixture fixture;
  const std::string run_id = fixture.finished_run("train");
  json result = fixture.call("attribute", {{"tenant_id", kTenant}, {"run_id", run_id}});
  REQUIRE_MESSAGE(result["isError"] == false, ToolFixture::text(result));
  const json& report = result["structuredContent"];
  CHECK(report["access"] == "full");
  CHECK(report["simulated"] == true);
  CHECK(report["failed_cases"].get<int>() > 0);
  REQUIRE_FALSE(report["clusters"].empty());
  CHECK(report["clusters"][0].contains("example_case_ids"));
  CHECK(report["ceilings"].size() == 3);
  CHECK(report["recommended_level"] == "prompt");
  REQUIRE_FALSE(report["attributions"].empty());
  const json& first = report["attributions"][0];
  CHECK_FALSE(first["evidence"].empty());
  CHECK(ToolFixture::text(result).find("Recommended level: prompt") != std::string::npos);
  // The simulator's record of its rules never reaches the optimiser.
  CHECK(report.dump().find("answer_verbose") == std::string::npos);
}

TEST_CASE("attribute caps the per-case list and counts what it left out") {
  ToolFixture fixture;
  const std::string run_id = fixture.finished_run("train");
  json result = fixture.call("attribute", {{"tenant_id", kTenant},
                                           {"run_id", run_id},
                                           {"max_attributions", 3},
                                           {"max_examples", 1}});
  const json& report = result["structuredContent"];
  CHECK(report["attributions"].size() == 3);
  CHECK(report["attributions_omitted"].get<int>() == report["failed_cases"].get<int>() - 3);
  for (const json& cluster : report["clusters"]) CHECK(cluster["example_case_ids"].size() == 1);
}

TEST_CASE("attribute gives validation runs counts and shares without case ids") {
  ToolFixture fixture;
  const std::string run_id = fixture.finished_run("validation");
  json result = fixture.call("attribute", {{"tenant_id", kTenant}, {"run_id", run_id}});
  REQUIRE_MESSAGE(result["isError"] == false, ToolFixture::text(result));
  const json& report = result["structuredContent"];
  CHECK(report["access"] == "aggregates_only");
  CHECK_FALSE(report.contains("attributions"));
  CHECK(report.dump().find("\"mh0") == std::string::npos);
  for (const json& cluster : report["clusters"]) {
    CHECK_FALSE(cluster.contains("example_case_ids"));
    CHECK(cluster["count"].get<int>() >= 5);
  }
}

TEST_CASE("attribute names the unknown run and rejects unknown arguments") {
  ToolFixture fixture;
  json unknown =
      fixture.call("attribute", {{"tenant_id", kTenant}, {"run_id", "r20990101-000000-abcdef"}});
  CHECK(unknown["isError"] == true);
  CHECK(ToolFixture::text(unknown).find("r20990101-000000-abcdef") != std::string::npos);
  json bad = fixture.call("attribute", {{"tenant_id", kTenant}, {"run_id", "x"}, {"level", 1}});
  CHECK(bad["isError"] == true);
  CHECK(ToolFixture::text(bad).find("unknown argument 'level'") != std::string::npos);
}

}  // namespace
}  // namespace fapo::mcp::testing
