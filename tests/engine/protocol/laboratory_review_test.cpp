#include <doctest/doctest.h>

#include "engine/protocol/laboratory.h"
#include "tests/engine/protocol/protocol_fixture.h"

namespace fapo {
namespace {

using nlohmann::json;
using testing::kAnswerFix;
using testing::ProtocolFixture;

bool has_finding(const ReviewReport& report, const std::string& id) {
  for (const ReviewFinding& finding : report.findings) {
    if (finding.id == id) return true;
  }
  return false;
}

TEST_CASE("the README's prompt fix passes review, and the verdict is journaled") {
  ProtocolFixture f;
  VariantRecord fix = f.propose(kAnswerFix);
  auto report = f.lab->review(fix.name);
  REQUIRE_MESSAGE(report.ok(), (report.ok() ? "" : report.error().message));
  CHECK(report->verdict == "pass");
  CHECK(report->findings.empty());
  auto latest = f.lab->journal().latest_review(fix.variant_id);
  REQUIRE(latest.ok());
  REQUIRE(latest->has_value());
  CHECK((*latest)->payload["verdict"] == "pass");
  CHECK((*latest)->payload["findings"] == json::array());
  CHECK(
      f.lab->check_evaluation_allowed(fix.variant_id, "validation", Purpose::kValidation, 3).ok());
}

TEST_CASE("a prompt quoting a validation question fails review without revealing it") {
  ProtocolFixture f;
  const std::string question = f.question_of_split(Split::kValidation);
  VariantRecord leaky = f.propose("For example: " + question + " Answer the question.");
  auto report = f.lab->review(leaky.name);
  REQUIRE_MESSAGE(report.ok(), (report.ok() ? "" : report.error().message));
  CHECK(report->verdict == "fail");
  CHECK(has_finding(*report, "heldout_text"));
  for (const ReviewFinding& finding : report->findings) {
    CHECK(finding.message.find(question) == std::string::npos);
  }
  Status refused =
      f.lab->check_evaluation_allowed(leaky.variant_id, "validation", Purpose::kValidation, 3);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().message.find("failed review") != std::string::npos);
}

TEST_CASE("reviewing again is journaled again and the latest verdict counts") {
  ProtocolFixture f;
  VariantRecord fix = f.propose(kAnswerFix);
  REQUIRE(f.lab->review(fix.name).ok());
  REQUIRE(f.lab->review(fix.variant_id.substr(0, 12)).ok());
  CHECK(f.journal_count("review") == 2);
}

TEST_CASE("a later near-copy does not make an earlier variant a duplicate") {
  ProtocolFixture f;
  VariantRecord first = f.propose(kAnswerFix);
  Proposal copy;
  copy.parent = "baseline";
  copy.hypothesis = "the same fix, spaced differently";
  copy.edits.prompts["answer.md"] =
      f.lab->tenant().baseline.prompts.at("answer.md") + "\n\n" + kAnswerFix + "  ";
  auto second = f.lab->propose(copy);
  REQUIRE_MESSAGE(second.ok(), (second.ok() ? "" : second.error().message));

  auto later = f.lab->review(second->name);
  REQUIRE(later.ok());
  CHECK(later->verdict == "fail");
  CHECK(has_finding(*later, "duplicate_variant"));
  auto earlier = f.lab->review(first.name);
  REQUIRE(earlier.ok());
  CHECK_FALSE(has_finding(*earlier, "duplicate_variant"));
}

TEST_CASE("reviewing an unknown variant names it") {
  ProtocolFixture f;
  auto missing = f.lab->review("v042");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().code == ErrorCode::kNotFound);
  CHECK(missing.error().message.find("v042") != std::string::npos);
  CHECK(f.journal_count("review") == 0);
}

}  // namespace
}  // namespace fapo
