#include <doctest/doctest.h>

#include "tests/mcp_server/tools/tool_test_support.h"

namespace fapo::mcp {
namespace {

using nlohmann::json;
using testing::kTenant;
using testing::ToolFixture;

std::string first_failed_case(ToolFixture& f, const std::string& run_id) {
  const json failed = f.call("list_cases", {{"tenant_id", kTenant}, {"run_id", run_id},
                                            {"failed_only", true}, {"limit", 1}});
  REQUIRE(failed["structuredContent"]["cases"].size() == 1);
  return failed["structuredContent"]["cases"][0]["case_id"];
}

TEST_CASE("get_case joins the case with its result and the full step trace") {
  ToolFixture f;
  const std::string run_id = f.finished_run();
  const std::string case_id = first_failed_case(f, run_id);
  const json result =
      f.call("get_case", {{"tenant_id", kTenant}, {"run_id", run_id}, {"case_id", case_id}});
  REQUIRE_MESSAGE(result["isError"] == false, ToolFixture::text(result));
  const json& content = result["structuredContent"];
  CHECK(content["case"]["context"].contains("question"));
  CHECK(content["case"]["expected"].contains("answer"));
  CHECK(content["result"]["failed"] == true);
  REQUIRE(content["steps"].size() == 5);
  CHECK(content["steps"][0]["kind"] == "retrieve");
  CHECK(content["steps"][0]["detail"].contains("passage_ids"));
  CHECK(content["steps"][1]["messages"].size() >= 1);
  CHECK(content["simulated"] == true);
  CHECK(ToolFixture::text(result).find("Case " + case_id + " (trial 0) of run " + run_id) == 0);
}

TEST_CASE("get_case removes the simulator's ground truth from the trace") {
  ToolFixture f;
  const std::string run_id = f.finished_run();
  const json result = f.call("get_case", {{"tenant_id", kTenant}, {"run_id", run_id},
                                          {"case_id", first_failed_case(f, run_id)}});
  for (const json& step : result["structuredContent"]["steps"]) {
    if (step.contains("detail")) CHECK_FALSE(step["detail"].contains("sim"));
  }
  CHECK(result.dump().find("\"rule\"") == std::string::npos);
}

TEST_CASE("get_case cuts long fields at max_chars and marks the cut") {
  ToolFixture f;
  const std::string run_id = f.finished_run();
  const json result = f.call("get_case", {{"tenant_id", kTenant}, {"run_id", run_id},
                                          {"case_id", first_failed_case(f, run_id)},
                                          {"max_chars", 100}});
  REQUIRE(result["isError"] == false);
  const json& step = result["structuredContent"]["steps"][0];  // retrieved passages: long
  const std::string output = step["output"];
  CHECK(output.find("…[truncated ") != std::string::npos);
  CHECK(result["structuredContent"]["max_chars"] == 100);
}

TEST_CASE("get_case refuses validation cases and suggests a close case id") {
  ToolFixture f;
  const std::string validation = f.finished_run("validation");
  const json refused =
      f.call("get_case", {{"tenant_id", kTenant}, {"run_id", validation}, {"case_id", "mh0001"}});
  CHECK(refused["isError"] == true);
  CHECK(ToolFixture::text(refused).find("Individual cases of validation runs are not available") ==
        0);

  const std::string train = f.finished_run();
  const std::string case_id = first_failed_case(f, train);
  const json typo = f.call("get_case", {{"tenant_id", kTenant}, {"run_id", train},
                                        {"case_id", case_id + "x"}});
  CHECK(typo["isError"] == true);
  CHECK(ToolFixture::text(typo).find("did you mean '" + case_id + "'") != std::string::npos);
  const json trial = f.call("get_case", {{"tenant_id", kTenant}, {"run_id", train},
                                         {"case_id", case_id}, {"trial", 3}});
  CHECK(trial["isError"] == true);
}

}  // namespace
}  // namespace fapo::mcp
