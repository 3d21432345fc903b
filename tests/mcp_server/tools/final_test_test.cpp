#include <doctest/doctest.h>

#include "engine/run/run_store.h"
#include "tests/mcp_server/tools/protocol_tool_support.h"

namespace fapo::mcp {
namespace {

using nlohmann::json;
using testing::kTenant;
using testing::ToolFixture;

std::size_t runs_on_disk(ToolFixture& f) {
  auto workspace = Workspace::open(f.workspace());
  REQUIRE(workspace.ok());
  return RunStore(*workspace, kTenant).list_runs().size();
}

json final_test_until_sealed(ToolFixture& f) {
  json result;
  for (int attempt = 0; attempt < 10; ++attempt) {
    result = f.call("final_test", {{"tenant_id", kTenant}});
    if (result["isError"] == true || result["structuredContent"]["status"] == "sealed") break;
  }
  return result;
}

TEST_CASE("final_test seals the best variant's test result once; later calls spend nothing") {
  ToolFixture f;
  const json sealed = final_test_until_sealed(f);
  REQUIRE_MESSAGE(sealed["isError"] == false, ToolFixture::text(sealed));
  const json& content = sealed["structuredContent"];
  CHECK(content["status"] == "sealed");
  CHECK(content["already_sealed"] == false);
  CHECK(content["name"] == "v000");
  CHECK(content["trials"] == 3);
  CHECK(content.contains("mean"));
  CHECK(content.contains("sealed_at"));
  CHECK(ToolFixture::text(sealed).find("Final test of v000: mean") == 0);
  CHECK(std::filesystem::exists(f.workspace() / ".fapo" / kTenant / "final_test.json"));

  const std::size_t runs = runs_on_disk(f);
  const json again = f.call("final_test", {{"tenant_id", kTenant}, {"wait_seconds", 0}});
  REQUIRE(again["isError"] == false);
  CHECK(again["structuredContent"]["already_sealed"] == true);
  CHECK(again["structuredContent"]["mean"] == content["mean"]);
  CHECK(again["structuredContent"]["run_id"] == content["run_id"]);
  CHECK(ToolFixture::text(again).find("this call spent nothing") != std::string::npos);
  CHECK(runs_on_disk(f) == runs);
}

TEST_CASE("after final_test, proposals and comparisons are refused") {
  ToolFixture f;
  REQUIRE(final_test_until_sealed(f)["isError"] == false);
  const json proposed =
      f.call("propose_variant",
             {{"tenant_id", kTenant},
              {"hypothesis", "one more"},
              {"prompts", {{"answer.md", testing::baseline_prompt_with(f, testing::kAnswerFix)}}}});
  CHECK(proposed["isError"] == true);
  CHECK(ToolFixture::text(proposed).find(
            "the final test of tenant multihop_qa is sealed (variant v000, mean ") !=
        std::string::npos);
  const json compared =
      f.call("compare", {{"tenant_id", kTenant}, {"candidate", "baseline"}, {"split", "train"}});
  CHECK(compared["isError"] == true);
  CHECK(ToolFixture::text(compared).find("the optimisation is finished") != std::string::npos);
}

TEST_CASE("final_test refuses a variant that has not passed review") {
  ToolFixture f;
  const std::string name = testing::propose_answer(f, testing::kAnswerFix);
  const json refused = f.call("final_test", {{"tenant_id", kTenant}, {"variant", name}});
  CHECK(refused["isError"] == true);
  CHECK(ToolFixture::text(refused).find(name + " has not been reviewed") != std::string::npos);
  CHECK(runs_on_disk(f) == 0);
}

}  // namespace
}  // namespace fapo::mcp
