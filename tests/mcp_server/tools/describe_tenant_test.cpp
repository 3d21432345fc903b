#include <doctest/doctest.h>

#include "tests/mcp_server/tools/tool_test_support.h"

namespace fapo::mcp {
namespace {

using nlohmann::json;
using testing::kTenant;
using testing::ToolFixture;

TEST_CASE("describe_tenant shows the chain, prompts, model, scorer and split sizes") {
  ToolFixture f;
  const json result = f.call("describe_tenant", {{"tenant_id", kTenant}});
  REQUIRE(result["isError"] == false);
  const json& content = result["structuredContent"];
  CHECK(content["task"]["cases"] == 240);
  CHECK(content["task"]["task_types"].size() == 4);
  CHECK(content["task"]["corpus"] == true);
  CHECK(content["model"]["provider"] == "sim");
  CHECK(content["model"]["simulated"] == true);
  CHECK(content["model"]["note"].get<std::string>().find("Simulated model") == 0);
  const json& steps = content["chain"]["steps"];
  REQUIRE(steps.size() == 5);
  CHECK(steps[0] == json{{"id", "hop1"}, {"kind", "retrieve"},
                         {"settings", {{"query", "${question}"}, {"k", 2}}}});
  CHECK(steps[4]["settings"]["prompt"] == "answer.md");
  CHECK(content["chain"]["output"] == "answer");
  REQUIRE(content["prompts"].size() == 3);
  CHECK(content["prompts"][0]["file"] == "answer.md");
  CHECK(content["prompts"][0]["chars"].get<int>() > 0);
  CHECK_FALSE(content["prompts"][0].contains("text"));
  CHECK(content["scorer"]["type"] == "exact_match");
  const json& splits = content["splits"];
  CHECK(splits["train"].get<int>() + splits["validation"].get<int>() + splits["test"].get<int>() ==
        240);
  CHECK(content["success"]["target"] == 85);
  CHECK(content["acceptance"]["trials"] == 3);
  CHECK(content["budget"]["validation_evaluations"] == 20);
  const std::string text = ToolFixture::text(result);
  CHECK(text.find("multihop_qa: 240 cases; chain hop1 (retrieve) -> summarize (llm)") == 0);
  CHECK(text.find("(SIMULATED)") != std::string::npos);
}

TEST_CASE("describe_tenant shows no dataset case and none of the simulator's rules") {
  ToolFixture f;
  const std::string dump =
      f.call("describe_tenant", {{"tenant_id", kTenant}, {"include_prompt_text", true}}).dump();
  CHECK(dump.find("Wase Laboratories") == std::string::npos);    // a case's question
  CHECK(dump.find("Hidrecell") == std::string::npos);            // its expected answer
  CHECK(dump.find("answer_hedge_hard") == std::string::npos);    // a sim rule
  CHECK(dump.find("keep every name") == std::string::npos);      // a sim trigger phrase
  CHECK(dump.find("\"text\":") != std::string::npos);            // prompts were included
}

TEST_CASE("describe_tenant names the tenants that exist when the id is unknown") {
  ToolFixture f;
  const json result = f.call("describe_tenant", {{"tenant_id", "multihop"}});
  CHECK(result["isError"] == true);
  const std::string text = ToolFixture::text(result);
  CHECK(text.find("unknown tenant 'multihop' (did you mean 'multihop_qa'?)") == 0);
  CHECK(text.find("list_tenants") != std::string::npos);
  const json bad = f.call("describe_tenant", {{"tenant_id", "../secrets"}});
  CHECK(bad["isError"] == true);
}

TEST_CASE("describe_tenant reports a broken chain and points to validate_tenant") {
  ToolFixture f;
  fapo::testing::write_text(f.workspace() / "tenants" / kTenant / "chain.json", "{\"steps\": [");
  const json result = f.call("describe_tenant", {{"tenant_id", kTenant}});
  CHECK(result["isError"] == true);
  const std::string text = ToolFixture::text(result);
  CHECK(text.find("chain.json") != std::string::npos);
  CHECK(text.find("validate_tenant") != std::string::npos);
}

}  // namespace
}  // namespace fapo::mcp
