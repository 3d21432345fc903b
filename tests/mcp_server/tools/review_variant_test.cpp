#include <doctest/doctest.h>

#include "tests/mcp_server/tools/protocol_tool_support.h"

namespace fapo::mcp {
namespace {

using nlohmann::json;
using testing::kTenant;
using testing::ToolFixture;

TEST_CASE("review_variant passes the README's prompt fix and points to compare") {
  ToolFixture f;
  const std::string name = testing::propose_answer(f, testing::kAnswerFix);
  const json result = f.call("review_variant", {{"tenant_id", kTenant}, {"variant", name}});
  REQUIRE_MESSAGE(result["isError"] == false, ToolFixture::text(result));
  const json& content = result["structuredContent"];
  CHECK(content["name"] == name);
  CHECK(content["verdict"] == "pass");
  CHECK(content["findings"] == json::array());
  CHECK(content["next_step"].get<std::string>().find("compare") != std::string::npos);
  CHECK(ToolFixture::text(result).find("Review of v001: pass") == 0);

  const json variant = f.call("get_variant", {{"tenant_id", kTenant}, {"variant", name}});
  CHECK(variant["structuredContent"]["review"] == "pass");
}

TEST_CASE("review_variant fails a prompt that leaks a validation question, without quoting it") {
  ToolFixture f;
  const std::string question = testing::validation_question(f);
  const std::string name = testing::propose_answer(f, "Example: " + question);
  const json result = f.call("review_variant", {{"tenant_id", kTenant}, {"variant", name}});
  REQUIRE_MESSAGE(result["isError"] == false, ToolFixture::text(result));
  const json& content = result["structuredContent"];
  CHECK(content["verdict"] == "fail");
  bool leaked = false;
  for (const json& finding : content["findings"]) {
    if (finding["id"] == "heldout_text") leaked = finding["severity"] == "block";
  }
  CHECK(leaked);
  CHECK(result.dump().find(question) == std::string::npos);
  CHECK(ToolFixture::text(result).find("Review of v001: fail") == 0);
}

TEST_CASE("review_variant needs a variant and names an unknown one") {
  ToolFixture f;
  const json missing = f.call("review_variant", {{"tenant_id", kTenant}});
  CHECK(missing["isError"] == true);
  CHECK(ToolFixture::text(missing).find("missing required argument 'variant'") !=
        std::string::npos);
  const json unknown = f.call("review_variant", {{"tenant_id", kTenant}, {"variant", "v009"}});
  CHECK(unknown["isError"] == true);
  CHECK(ToolFixture::text(unknown).find("no variant named 'v009'") != std::string::npos);
}

}  // namespace
}  // namespace fapo::mcp
