#include <doctest/doctest.h>

#include "tests/mcp_server/tools/tool_test_support.h"

namespace fapo::mcp {
namespace {

using nlohmann::json;
using testing::kTenant;
using testing::ToolFixture;

TEST_CASE("get_variant shows the hypothesis, changes and a diff against the parent") {
  ToolFixture f;
  const json proposed = f.call("propose_variant", {{"tenant_id", kTenant},
                                                   {"hypothesis", "more passages"},
                                                   {"parameters", {{"hop1", {{"k", 4}}}}}});
  REQUIRE_MESSAGE(proposed["isError"] == false, ToolFixture::text(proposed));
  const std::string id = proposed["structuredContent"]["variant_id"];
  const json result = f.call("get_variant", {{"tenant_id", kTenant}, {"variant", id.substr(0, 10)}});
  REQUIRE_MESSAGE(result["isError"] == false, ToolFixture::text(result));
  const json& content = result["structuredContent"];
  CHECK(content["name"] == "v001");
  CHECK(content["parent"] == "v000");
  CHECK(content["hypothesis"] == "more passages");
  CHECK(content["review"].is_null());
  CHECK(content["decision"].is_null());
  REQUIRE(content["diff"].size() == 1);
  CHECK(content["diff"][0]["file"] == "chain.json");
  const std::string diff = content["diff"][0]["diff"];
  CHECK(diff.find("-      \"k\": 2,\n+      \"k\": 4,\n") != std::string::npos);
  CHECK(ToolFixture::text(result).find("v001 (parameter level, from v000)") == 0);
}

TEST_CASE("get_variant defaults to the best variant, the baseline at first") {
  ToolFixture f;
  const json result = f.call("get_variant", {{"tenant_id", kTenant}});
  REQUIRE(result["isError"] == false);
  CHECK(result["structuredContent"]["name"] == "v000");
  CHECK(result["structuredContent"]["level"] == "baseline");
  CHECK(result["structuredContent"]["diff"].empty());
}

TEST_CASE("get_variant refuses unknown variants and path-like references") {
  ToolFixture f;
  const json missing = f.call("get_variant", {{"tenant_id", kTenant}, {"variant", "v042"}});
  CHECK(missing["isError"] == true);
  CHECK(ToolFixture::text(missing).find("no variant named 'v042'") != std::string::npos);
  const json bad = f.call("get_variant", {{"tenant_id", kTenant}, {"variant", "../v000"}});
  CHECK(bad["isError"] == true);
  CHECK(ToolFixture::text(bad).find("is not a variant reference") != std::string::npos);
}

}  // namespace
}  // namespace fapo::mcp
