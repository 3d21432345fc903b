#include "engine/review/review.h"

#include <doctest/doctest.h>

#include "tests/engine/review/review_fixture.h"

namespace fapo {
namespace {

using review_testing::Fixture;
using review_testing::ids_of;

TEST_CASE("a focused prompt edit written from the task description passes with no findings") {
  Fixture fixture;
  PipelineConfig candidate = fixture.with_added(
      "answer.md", "\nGive only the answer: a name, with no explanation. Always answer, even "
                   "if you are unsure; give your best guess.\n");
  auto report = fixture.review(candidate);
  REQUIRE(report.ok());
  CHECK_MESSAGE(report->findings.empty(), ids_of(*report));
  CHECK(report->verdict == "pass");
}

TEST_CASE("the baseline itself, reviewed against itself, passes") {
  Fixture fixture;
  auto report = fixture.review(fixture.baseline(), "baseline", {});
  REQUIRE(report.ok());
  CHECK_MESSAGE(report->verdict == "pass", ids_of(*report));
}

TEST_CASE("the verdict is fail with any block, warn with only warnings") {
  Fixture fixture;
  // A near-duplicate of a rejected variant warns only.
  PipelineConfig rejected = fixture.with_added("answer.md", "\nBe concise.\n");
  PipelineConfig candidate = fixture.with_added("answer.md", "\nBe brief.\n");
  PriorVariant prior{rejected.content_hash(), "v001", rejected, "rejected", "pass"};
  auto warned = fixture.review(candidate, "prompt", {"answer"}, {prior});
  REQUIRE(warned.ok());
  CHECK(ids_of(*warned) == "near_duplicate_rejected");
  CHECK(warned->verdict == "warn");

  // Adding a broken template on top blocks.
  PipelineConfig broken = fixture.with_added("answer.md", "\nBe brief. ${unclosed\n");
  auto failed = fixture.review(broken, "prompt", {"answer"}, {prior});
  REQUIRE(failed.ok());
  CHECK(failed->verdict == "fail");
}

TEST_CASE("the report serialises severities as block and warn and omits an empty step") {
  ReviewReport report;
  report.verdict = "fail";
  report.findings.push_back({"chain_invalid", Severity::kBlock, "broken", ""});
  report.findings.push_back({"prompt_growth", Severity::kWarn, "long", "answer"});
  nlohmann::json json = to_json(report);
  CHECK(json["verdict"] == "fail");
  REQUIRE(json["findings"].size() == 2);
  CHECK(json["findings"][0] == nlohmann::json{{"id", "chain_invalid"},
                                              {"severity", "block"},
                                              {"message", "broken"}});
  CHECK(json["findings"][1]["severity"] == "warn");
  CHECK(json["findings"][1]["step"] == "answer");
}

TEST_CASE("a missing candidate or an unknown level is an input error") {
  Fixture fixture;
  ReviewInput input;
  input.level = "prompt";
  auto missing = review_variant(fixture.context(), input);
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().code == ErrorCode::kInvalidInput);
  CHECK(missing.error().message.find("no candidate") != std::string::npos);

  auto unknown = fixture.review(fixture.baseline(), "prompts");
  REQUIRE_FALSE(unknown.ok());
  CHECK(unknown.error().code == ErrorCode::kInvalidInput);
  CHECK(unknown.error().message.find("unknown level 'prompts'") != std::string::npos);
}

TEST_CASE("the context indexes every case of the dataset with its split") {
  Fixture fixture;
  const ReviewContext& context = fixture.context();
  REQUIRE(context.cases().size() == 240);
  std::size_t validation = 0;
  for (std::uint32_t i = 0; i < 240; ++i) {
    if (context.split_of_case(i) == Split::kValidation) ++validation;
  }
  CHECK(validation == fixture.manifest().validation.size());
  CHECK(context.context_keys() == std::vector<std::string>{"question"});
}

TEST_CASE("building the context refuses a split assignment that differs from the recorded one") {
  Fixture fixture;
  SplitManifest recorded = fixture.manifest();
  std::swap(recorded.train.front(), recorded.test.front());
  std::sort(recorded.train.begin(), recorded.train.end());
  std::sort(recorded.test.begin(), recorded.test.end());
  recorded.fingerprint = split_fingerprint(recorded);
  testing::write_text(fixture.workspace().split_manifest_path("multihop_qa"),
                      to_json(recorded).dump());
  auto built = ReviewContext::build(fixture.workspace(), fixture.tenant());
  REQUIRE_FALSE(built.ok());
  CHECK(built.error().code == ErrorCode::kConflict);
  CHECK(built.error().message.find("split assignment differs") != std::string::npos);
}

TEST_CASE("building the context accepts the recorded manifest when it matches and never writes one") {
  Fixture fixture;
  const auto path = fixture.workspace().split_manifest_path("multihop_qa");
  REQUIRE(ReviewContext::build(fixture.workspace(), fixture.tenant()).ok());
  CHECK_FALSE(std::filesystem::exists(path));
  testing::write_text(path, to_json(fixture.manifest()).dump());
  CHECK(ReviewContext::build(fixture.workspace(), fixture.tenant()).ok());
}

TEST_CASE("building the context reports malformed parameter ranges with the field") {
  Fixture fixture([](nlohmann::json& doc) {
    doc["scope"] = {{"parameter_ranges", {{"hop2.kk", {{"max", 5}}}, {"n", {{"min", 3}, {"max", 2}}}}}};
  });
  auto built = ReviewContext::build(fixture.workspace(), fixture.tenant());
  REQUIRE_FALSE(built.ok());
  CHECK(built.error().code == ErrorCode::kInvalidInput);
  const std::string& message = built.error().message;
  CHECK(message.find("scope.parameter_ranges.hop2.kk") != std::string::npos);
  CHECK(message.find("did you mean 'k'") != std::string::npos);
  CHECK(message.find("min 3 is above max 2") != std::string::npos);
}

}  // namespace
}  // namespace fapo
