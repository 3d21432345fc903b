#include <doctest/doctest.h>

#include "tests/mcp_server/tools/tool_test_support.h"

namespace fapo::mcp {
namespace {

using nlohmann::json;
using testing::kTenant;
using testing::ToolFixture;

json propose(ToolFixture& f, const json& extra) {
  json arguments{{"tenant_id", kTenant}, {"hypothesis", "short answers match exactly"}};
  arguments.update(extra);
  return f.call("propose_variant", arguments);
}

TEST_CASE("propose_variant stores a prompt change from the best variant as v001") {
  ToolFixture f;
  const json result =
      propose(f, {{"prompts", {{"answer.md", "System: Answer with the name only.\nUser: ${question}\n"
                                             "${steps.hop2.output}\n${steps.summarize.output}"}}}});
  REQUIRE_MESSAGE(result["isError"] == false, ToolFixture::text(result));
  const json& content = result["structuredContent"];
  CHECK(content["name"] == "v001");
  CHECK(content["parent"] == "v000");
  CHECK(content["level"] == "prompt");
  CHECK(content["edited_steps"] == json{"answer"});
  CHECK(content["variant_id"].get<std::string>().size() == 64);
  CHECK(ToolFixture::text(result).find("Stored v001 (prompt level, from v000)") == 0);
}

TEST_CASE("propose_variant computes the parameter level and refuses frozen settings") {
  ToolFixture f;
  const json k = propose(f, {{"parameters", {{"hop2", {{"k", 3}}}}}});
  REQUIRE_MESSAGE(k["isError"] == false, ToolFixture::text(k));
  CHECK(k["structuredContent"]["level"] == "parameter");
  CHECK(k["structuredContent"]["changes"][0] ==
        json{{"kind", "parameter"}, {"step", "hop2"}, {"field", "k"}, {"from", 2}, {"to", 3}});

  const json frozen = propose(f, {{"parameters", {{"answer", {{"temperature", 0}}}}}});
  CHECK(frozen["isError"] == true);
  CHECK(ToolFixture::text(frozen).find("'temperature' is frozen") != std::string::npos);
}

TEST_CASE("propose_variant names the existing variant when the content is identical") {
  ToolFixture f;
  const json edit{{"parameters", {{"hop1", {{"k", 3}}}}}};
  REQUIRE(propose(f, edit)["isError"] == false);
  const json again = propose(f, {{"parameters", {{"hop1", {{"k", 3}}}}}, {"parent", "v000"}});
  CHECK(again["isError"] == true);
  CHECK(ToolFixture::text(again).find("already stored as variant v001") != std::string::npos);
}

TEST_CASE("propose_variant lists every problem of a broken variant and stores nothing") {
  ToolFixture f;
  const json broken = propose(f, {{"prompts", {{"answer.md", "User: ${questoin}"},
                                               {"summarize.md", "User: ${steps.later.output}"}}}});
  CHECK(broken["isError"] == true);
  const std::string text = ToolFixture::text(broken);
  CHECK(text.find("questoin") != std::string::npos);
  CHECK(text.find("later") != std::string::npos);
  CHECK(text.find("Fix every problem listed") != std::string::npos);
  const json history = f.call("history", {{"tenant_id", kTenant}});
  CHECK(history["structuredContent"]["variants"].size() == 1);
}

TEST_CASE("propose_variant refuses an empty hypothesis, no edits and a path as parent") {
  ToolFixture f;
  CHECK(f.call("propose_variant", {{"tenant_id", kTenant}, {"hypothesis", ""},
                                   {"parameters", {{"hop1", {{"k", 3}}}}}})["isError"] == true);
  const json blank = propose(f, {{"hypothesis", "   "}, {"parameters", {{"hop1", {{"k", 3}}}}}});
  CHECK(blank["isError"] == true);
  CHECK(ToolFixture::text(blank).find("hypothesis is empty") != std::string::npos);
  const json nothing = propose(f, json::object());
  CHECK(nothing["isError"] == true);
  CHECK(ToolFixture::text(nothing).find("changes nothing") != std::string::npos);
  const json traversal = propose(f, {{"parent", "../../tenants"}, {"parameters", {{"hop1", {{"k", 3}}}}}});
  CHECK(traversal["isError"] == true);
  CHECK(ToolFixture::text(traversal).find("is not a variant reference") != std::string::npos);
}

}  // namespace
}  // namespace fapo::mcp
