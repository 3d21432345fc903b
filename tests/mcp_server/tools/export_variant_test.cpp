#include <doctest/doctest.h>

#include "tests/mcp_server/tools/tool_test_support.h"

namespace fapo::mcp {
namespace {

using nlohmann::json;
using testing::kTenant;
using testing::ToolFixture;

TEST_CASE("export_variant writes chain.json and prompts into the workspace") {
  ToolFixture f;
  const json result = f.call("export_variant", {{"tenant_id", kTenant}, {"variant", "baseline"},
                                                {"path", "exports/base"}});
  REQUIRE_MESSAGE(result["isError"] == false, ToolFixture::text(result));
  const json& content = result["structuredContent"];
  CHECK(content["path"] == "exports/base");
  CHECK(content["name"] == "v000");
  CHECK(std::count(content["files"].begin(), content["files"].end(),
                   json("exports/base/prompts/summarize.md")) == 1);
  CHECK(fapo::testing::read_text(f.workspace() / "exports/base/chain.json").find("hop1") !=
        std::string::npos);
}

TEST_CASE("export_variant refuses to overwrite and to write outside the workspace or into .fapo") {
  ToolFixture f;
  fapo::testing::write_text(f.workspace() / "taken" / "chain.json", "mine");
  const json taken = f.call("export_variant", {{"tenant_id", kTenant}, {"variant", "best"},
                                               {"path", "taken"}});
  CHECK(taken["isError"] == true);
  CHECK(ToolFixture::text(taken).find("would overwrite taken/chain.json") != std::string::npos);
  CHECK(fapo::testing::read_text(f.workspace() / "taken" / "chain.json") == "mine");
  for (std::string path : {"../escape", "/etc/fapo", ".fapo/multihop_qa/x"}) {
    const json refused = f.call("export_variant", {{"tenant_id", kTenant}, {"variant", "best"},
                                                   {"path", path}});
    CHECK(refused["isError"] == true);
  }
  CHECK_FALSE(std::filesystem::exists(f.workspace().parent_path() / "escape"));
}

}  // namespace
}  // namespace fapo::mcp
