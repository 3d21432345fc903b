// Duplicates of earlier variants and prompt growth.
#include <doctest/doctest.h>

#include "engine/review/review_checks.h"
#include "tests/engine/review/review_fixture.h"

namespace fapo {
namespace {

using review_testing::findings_with;
using review_testing::Fixture;
using review_testing::ids_of;

PriorVariant prior(const PipelineConfig& pipeline, std::string name, std::string decision) {
  return PriorVariant{pipeline.content_hash(), std::move(name), pipeline, std::move(decision),
                      "pass"};
}

TEST_CASE("duplicate_variant blocks the same pipeline up to whitespace and names the earlier one") {
  Fixture fixture;
  PipelineConfig earlier = fixture.with_added("answer.md", "\nBe brief.\n");
  PipelineConfig candidate = fixture.with_added("answer.md", "\n\n  Be   brief.\n\n");
  auto report = fixture.review(candidate, "prompt", {"answer"},
                               {prior(fixture.baseline(), "v000", "accepted"),
                                prior(earlier, "v004", "rejected")});
  REQUIRE(report.ok());
  auto found = findings_with(*report, "duplicate_variant");
  REQUIRE_MESSAGE(found.size() == 1, ids_of(*report));
  CHECK(found[0]->severity == Severity::kBlock);
  CHECK(found[0]->message.find("same pipeline as v004 (" + earlier.content_hash().substr(0, 12) +
                               "), rejected before") != std::string::npos);
  // The exact duplicate is not also reported as a near one.
  CHECK(findings_with(*report, "near_duplicate_rejected").empty());
}

TEST_CASE("duplicate_variant blocks a variant that changes nothing the parent's steps read") {
  Fixture fixture;
  PipelineConfig candidate = fixture.baseline();
  candidate.prompts["unused.md"] = "Nothing reads this file.";
  auto report = fixture.review(candidate, "prompt", {},
                               {prior(fixture.baseline(), "v000", "accepted")});
  REQUIRE(report.ok());
  CHECK(findings_with(*report, "duplicate_variant").size() == 1);
}

TEST_CASE("the candidate itself among the earlier variants is not its own duplicate") {
  Fixture fixture;
  PipelineConfig candidate = fixture.with_added("answer.md", "\nBe brief.\n");
  auto report = fixture.review(candidate, "prompt", {"answer"},
                               {prior(fixture.baseline(), "v000", ""),
                                prior(candidate, "v001", "")});
  REQUIRE(report.ok());
  CHECK_MESSAGE(report->findings.empty(), ids_of(*report));
}

TEST_CASE("near_duplicate_rejected warns for a rewording of a rejected variant only") {
  Fixture fixture;
  PipelineConfig rejected = fixture.with_added("answer.md", "\nBe concise.\n");
  PipelineConfig candidate = fixture.with_added("answer.md", "\nBe brief.\n");
  auto report = fixture.review(candidate, "prompt", {"answer"},
                               {prior(rejected, "v002", "rejected")});
  REQUIRE(report.ok());
  auto found = findings_with(*report, "near_duplicate_rejected");
  REQUIRE(found.size() == 1);
  CHECK(found[0]->severity == Severity::kWarn);
  CHECK(found[0]->message.find("v002") != std::string::npos);

  SUBCASE("an accepted or undecided one is no reason to warn") {
    auto accepted = fixture.review(candidate, "prompt", {"answer"},
                                   {prior(rejected, "v002", "accepted"),
                                    prior(rejected, "v003", "")});
    REQUIRE(accepted.ok());
    CHECK(accepted->findings.empty());
  }
  SUBCASE("a different instruction is not a rewording") {
    PipelineConfig other = fixture.with_added(
        "answer.md", "\nAlways answer with your best guess, even when the passages are unclear, "
                     "and never say that you cannot determine it.\n");
    auto different = fixture.review(other, "prompt", {"answer"},
                                    {prior(rejected, "v002", "rejected")});
    REQUIRE(different.ok());
    CHECK(different->findings.empty());
  }
  SUBCASE("the same prompts with another parameter are a different experiment") {
    PipelineConfig with_k = candidate;
    nlohmann::json raw = with_k.chain.raw;
    raw["steps"][3]["k"] = 4;
    auto chain = parse_chain(raw, "chain.json");
    REQUIRE(chain.ok());
    with_k.chain = *chain;
    auto parameter = fixture.review(with_k, "parameter", {"answer", "hop2"},
                                    {prior(rejected, "v002", "rejected")});
    REQUIRE(parameter.ok());
    CHECK(findings_with(*parameter, "near_duplicate_rejected").empty());
  }
}

TEST_CASE("prompt_growth warns above twice the parent's size and blocks above four times") {
  Fixture fixture;
  const std::size_t base = fixture.baseline().prompts.at("answer.md").size();
  auto grown = [&](std::size_t extra) {
    std::string text = "\n";
    while (text.size() < extra) text += "Use the passages and the notes together. ";
    return fixture.with_added("answer.md", text);
  };
  auto small = fixture.review(grown(kGrowthFloorChars - 100));
  REQUIRE(small.ok());
  CHECK(findings_with(*small, "prompt_growth").empty());

  auto doubled = fixture.review(grown(base + 300));
  REQUIRE(doubled.ok());
  auto warned = findings_with(*doubled, "prompt_growth");
  REQUIRE_MESSAGE(warned.size() == 1, ids_of(*doubled));
  CHECK(warned[0]->severity == Severity::kWarn);
  CHECK(warned[0]->step == "answer");
  CHECK(warned[0]->message.find("prompts/answer.md grew from " + std::to_string(base) + " to ") ==
        0);

  auto huge = fixture.review(grown(std::max(4 * base, kGrowthWarnChars) + 100));
  REQUIRE(huge.ok());
  auto blocked = findings_with(*huge, "prompt_growth");
  REQUIRE(blocked.size() == 1);
  CHECK(blocked[0]->severity == Severity::kBlock);
}

}  // namespace
}  // namespace fapo
