#include <doctest/doctest.h>

#include "tests/mcp_server/tools/protocol_tool_support.h"

namespace fapo::mcp {
namespace {

using nlohmann::json;
using testing::kTenant;
using testing::ToolFixture;

std::string reviewed_fix(ToolFixture& f) {
  const std::string name = testing::propose_answer(f, testing::kAnswerFix);
  const json review = f.call("review_variant", {{"tenant_id", kTenant}, {"variant", name}});
  REQUIRE(review["structuredContent"]["verdict"] == "pass");
  return name;
}

// Calls compare until it decides (each call waits up to 50 s for the evaluations).
json compare_until_decided(ToolFixture& f, const json& arguments) {
  json result;
  for (int attempt = 0; attempt < 10; ++attempt) {
    result = f.call("compare", arguments);
    if (result["isError"] == true || result["structuredContent"]["status"] == "decided") break;
  }
  return result;
}

TEST_CASE("compare evaluates both variants and accepts the README's prompt fix as the new best") {
  ToolFixture f;
  const std::string name = reviewed_fix(f);
  const json first = f.call("compare", {{"tenant_id", kTenant}, {"candidate", name}});
  REQUIRE_MESSAGE(first["isError"] == false, ToolFixture::text(first));
  CHECK(first["structuredContent"]["estimate"]["calls"].get<long long>() >= 2 * 88 * 3 * 3);
  REQUIRE(first["structuredContent"]["evaluations"].size() == 2);
  CHECK(first["structuredContent"]["evaluations"][0]["started_now"] == true);
  json result = first;
  if (first["structuredContent"]["status"] == "evaluating") {
    result = compare_until_decided(f, {{"tenant_id", kTenant}, {"candidate", name}});
  }
  REQUIRE_MESSAGE(result["isError"] == false, ToolFixture::text(result));
  const json& content = result["structuredContent"];
  CHECK(content["status"] == "decided");
  CHECK(content["decision"] == "accept");
  CHECK(content["decisive"] == true);
  CHECK(content["best"]["name"] == name);
  CHECK(content["mean_difference"].get<double>() > 5);
  CHECK(content["trials"] == json{{"candidate", 3}, {"incumbent", 3}});
  CHECK(content["run_ids"]["candidate"].size() == 1);
  CHECK(content["interval"][0].get<double>() > 0);
  CHECK(ToolFixture::text(result).find(name + " is the new best") != std::string::npos);

  bool estimated = false;
  for (const auto& report : f.progress.reports()) {
    estimated = estimated || report.message.find("model calls") != std::string::npos;
  }
  CHECK(estimated);
  const json history = f.call("history", {{"tenant_id", kTenant}});
  CHECK(history["structuredContent"]["best"]["name"] == name);
}

TEST_CASE("compare refuses the test split and variants without a passing review") {
  ToolFixture f;
  const std::string name = testing::propose_answer(f, testing::kAnswerFix);
  const json test =
      f.call("compare", {{"tenant_id", kTenant}, {"candidate", name}, {"split", "test"}});
  CHECK(test["isError"] == true);
  CHECK(ToolFixture::text(test).find("the test split is reachable only through final_test") !=
        std::string::npos);

  const json unreviewed = f.call("compare", {{"tenant_id", kTenant}, {"candidate", name}});
  CHECK(unreviewed["isError"] == true);
  CHECK(ToolFixture::text(unreviewed).find(name + " has not been reviewed") != std::string::npos);
  CHECK(ToolFixture::text(unreviewed).find("Call review_variant first.") != std::string::npos);

  const std::string leaky = testing::propose_answer(f, "See: " + testing::validation_question(f));
  f.call("review_variant", {{"tenant_id", kTenant}, {"variant", leaky}});
  const json failed = f.call("compare", {{"tenant_id", kTenant}, {"candidate", leaky}});
  CHECK(failed["isError"] == true);
  CHECK(ToolFixture::text(failed).find(leaky + " failed review") != std::string::npos);
  CHECK(f.runs().active_runs().empty());
}

TEST_CASE("compare refuses a wait beyond 50 seconds and an unknown argument") {
  ToolFixture f;
  const json long_wait =
      f.call("compare", {{"tenant_id", kTenant}, {"candidate", "v000"}, {"wait_seconds", 120}});
  CHECK(long_wait["isError"] == true);
  CHECK(ToolFixture::text(long_wait).find("wait_seconds") != std::string::npos);
  const json unknown =
      f.call("compare", {{"tenant_id", kTenant}, {"candidate", "v000"}, {"trials", 5}});
  CHECK(unknown["isError"] == true);
  CHECK(ToolFixture::text(unknown).find("unknown argument 'trials'") != std::string::npos);
}

}  // namespace
}  // namespace fapo::mcp
