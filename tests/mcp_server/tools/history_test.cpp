#include <doctest/doctest.h>

#include "engine/journal/journal.h"
#include "engine/run/workspace.h"
#include "tests/mcp_server/tools/tool_test_support.h"

namespace fapo::mcp {
namespace {

using nlohmann::json;
using testing::kTenant;
using testing::ToolFixture;

TEST_CASE("history starts with the baseline as best and its budget") {
  ToolFixture f;
  const json result = f.call("history", {{"tenant_id", kTenant}});
  REQUIRE_MESSAGE(result["isError"] == false, ToolFixture::text(result));
  const json& content = result["structuredContent"];
  CHECK(content["best"]["name"] == "v000");
  CHECK(content["best"]["lineage"] == json{"v000"});
  REQUIRE(content["variants"].size() == 1);
  CHECK(content["variants"][0]["level"] == "baseline");
  CHECK(content["budget"]["caps"]["variants"] == 30);
  CHECK(ToolFixture::text(result).find("1 variants; best v000 (v000); 0 notes.") == 0);
}

TEST_CASE("history shows train means, verdicts, decisions and the lineage of the best") {
  ToolFixture f;
  f.finished_run("train");
  const json proposed = f.call("propose_variant", {{"tenant_id", kTenant},
                                                   {"hypothesis", "more passages"},
                                                   {"parameters", {{"hop1", {{"k", 4}}}}}});
  REQUIRE(proposed["isError"] == false);
  const std::string id = proposed["structuredContent"]["variant_id"];
  auto workspace = Workspace::open(f.workspace());
  REQUIRE(workspace.ok());
  auto journal = Journal::open(workspace->journal_db_path(kTenant));
  REQUIRE(journal.ok());
  REQUIRE((*journal)->append("review", "server", id, "", {{"verdict", "pass"}}).ok());
  REQUIRE((*journal)->append("decision", "server", id, "",
                             {{"candidate", id}, {"incumbent", "x"}, {"accepted", true},
                              {"split", "validation"}}).ok());
  const json content = f.call("history", {{"tenant_id", kTenant}})["structuredContent"];
  CHECK(content["best"]["lineage"] == json{"v000", "v001"});
  CHECK(content["variants"][0]["train_mean"].is_number());
  CHECK(content["variants"][0]["validation_mean"].is_null());
  CHECK(content["variants"][1]["verdict"] == "pass");
  CHECK(content["variants"][1]["decision"] == "accepted");
  CHECK(content["variants"][1]["parent"] == "v000");
}

TEST_CASE("history refuses an unknown tenant with a suggestion") {
  ToolFixture f;
  const json result = f.call("history", {{"tenant_id", "multihop"}});
  CHECK(result["isError"] == true);
  CHECK(ToolFixture::text(result).find("did you mean 'multihop_qa'") != std::string::npos);
}

}  // namespace
}  // namespace fapo::mcp
