// Held-out leakage, verbatim training copies and case-specific rules.
#include <doctest/doctest.h>

#include "engine/review/review_checks.h"
#include "tests/engine/review/review_fixture.h"

namespace fapo {
namespace {

using review_testing::contains_ci;
using review_testing::findings_with;
using review_testing::Fixture;
using review_testing::ids_of;

std::string question_of(const Case& item) { return item.context.at("question"); }
std::string answer_of(const Case& item) { return item.expected["answer"].get<std::string>(); }

// The message reveals nothing of the held-out cases it is about.
void check_reveals_nothing(const std::string& message, const std::vector<Case>& cases) {
  for (const Case& item : cases) {
    CHECK_FALSE(contains_ci(message, item.case_id));
    CHECK_FALSE(contains_ci(message, question_of(item)));
    CHECK_FALSE(contains_ci(message, answer_of(item)));
    CHECK_FALSE(contains_ci(message, item.expected["bridge"].get<std::string>()));
  }
}

TEST_CASE("heldout_text blocks a pasted validation question without revealing it") {
  Fixture fixture;
  const Case item = fixture.cases_of(Split::kValidation).at(3);
  PipelineConfig candidate =
      fixture.with_added("answer.md", "\nFor example: \"" + question_of(item) + "\"\n");
  auto report = fixture.review(candidate);
  REQUIRE(report.ok());
  auto found = findings_with(*report, "heldout_text");
  REQUIRE_MESSAGE(found.size() == 1, ids_of(*report));
  CHECK(found[0]->severity == Severity::kBlock);
  CHECK(found[0]->step == "answer");
  CHECK(found[0]->message.find("prompts/answer.md: added text matches 1 validation case(s)") == 0);
  check_reveals_nothing(found[0]->message, {item});
  check_reveals_nothing(to_json(*report).dump(), {item});
  CHECK(report->verdict == "fail");
}

TEST_CASE("heldout_text counts the cases of each split separately, with punctuation ignored") {
  Fixture fixture;
  std::vector<Case> validation = fixture.cases_of(Split::kValidation);
  std::vector<Case> test = fixture.cases_of(Split::kTest);
  // Lowercased, punctuation replaced and wrapped in corpus-style markup: still the same words.
  std::string pasted = "[1] «" + to_lower(question_of(validation[0])) + " | x»\n" +
                       question_of(validation[1]) + "\n" + question_of(test[0]) + "\n";
  auto report = fixture.review(fixture.with_added("query2.md", "\n" + pasted), "prompt",
                               {"query2"});
  REQUIRE(report.ok());
  auto found = findings_with(*report, "heldout_text");
  REQUIRE_MESSAGE(found.size() == 2, ids_of(*report));
  CHECK(found[0]->message.find("prompts/query2.md: added text matches 2 validation case(s)") == 0);
  CHECK(found[1]->message.find("prompts/query2.md: added text matches 1 test case(s)") == 0);
  check_reveals_nothing(found[0]->message + found[1]->message,
                        {validation[0], validation[1], test[0]});
}

TEST_CASE("heldout_text blocks a multi-word expected answer of a test case in a chain template") {
  Fixture fixture;
  std::vector<Case> candidates = fixture.cases_with_unique_answer(Split::kTest, 2, 5);
  REQUIRE_FALSE(candidates.empty());
  const Case item = candidates.front();
  PipelineConfig candidate = fixture.with_chain([&](nlohmann::json& chain) {
    chain["steps"][3]["query"] = "${steps.query2.output} " + answer_of(item);
  });
  auto report = fixture.review(candidate, "structural", {"hop2"});
  REQUIRE(report.ok());
  auto found = findings_with(*report, "heldout_text");
  REQUIRE_MESSAGE(found.size() == 1, ids_of(*report));
  CHECK(found[0]->message.find("chain.json: added text matches 1 test case(s)") == 0);
  CHECK(found[0]->step.empty());
  check_reveals_nothing(found[0]->message, {item});
}

TEST_CASE("heldout_answer warns for one single-word held-out answer and blocks from three") {
  Fixture fixture;
  std::vector<Case> single = fixture.cases_with_unique_answer(Split::kValidation, 1, 1);
  REQUIRE(single.size() >= 3);
  auto one = fixture.review(
      fixture.with_added("answer.md", "\nCities look like " + answer_of(single[0]) + ".\n"));
  REQUIRE(one.ok());
  auto warned = findings_with(*one, "heldout_answer");
  REQUIRE_MESSAGE(warned.size() == 1, ids_of(*one));
  CHECK(warned[0]->severity == Severity::kWarn);
  CHECK(warned[0]->message.find("of 1 validation case(s)") != std::string::npos);
  CHECK(findings_with(*one, "heldout_text").empty());
  check_reveals_nothing(warned[0]->message, {single[0]});
  CHECK(one->verdict == "warn");

  auto three = fixture.review(fixture.with_added(
      "answer.md", "\nCities look like " + answer_of(single[0]) + ", " + answer_of(single[1]) +
                       " or " + answer_of(single[2]) + ".\n"));
  REQUIRE(three.ok());
  auto blocked = findings_with(*three, "heldout_answer");
  REQUIRE(blocked.size() == 1);
  CHECK(blocked[0]->severity == Severity::kBlock);
  CHECK(blocked[0]->message.find("of 3 validation case(s)") != std::string::npos);
  check_reveals_nothing(blocked[0]->message, {single[0], single[1], single[2]});
}

TEST_CASE("text the baseline already contains is never counted as added") {
  Fixture fixture;
  const Case item = fixture.cases_of(Split::kValidation).at(0);
  // The user's own baseline quotes a held-out question; a variant that keeps it is not blamed.
  Tenant tenant = fixture.tenant();
  tenant.baseline.prompts["answer.md"] += "\nExample: " + question_of(item) + "\n";
  auto context = ReviewContext::build(fixture.workspace(), tenant);
  REQUIRE(context.ok());
  PipelineConfig candidate = tenant.baseline;
  candidate.prompts["answer.md"] += "Be brief.\n";
  ReviewInput input;
  input.level = "prompt";
  input.edited_steps = {"answer"};
  input.parent = &tenant.baseline;
  input.candidate = &candidate;
  auto report = review_variant(*context, input);
  REQUIRE(report.ok());
  CHECK_MESSAGE(report->findings.empty(), ids_of(*report));
}

TEST_CASE("train_copy warns for a few pasted training cases and names them") {
  Fixture fixture;
  std::vector<Case> train = fixture.cases_of(Split::kTrain);
  PipelineConfig candidate = fixture.with_added(
      "answer.md", "\nExamples:\nQ: " + question_of(train[0]) + "\nQ: " + question_of(train[1]) +
                       "\n");
  auto report = fixture.review(candidate);
  REQUIRE(report.ok());
  auto found = findings_with(*report, "train_copy");
  REQUIRE_MESSAGE(found.size() == 1, ids_of(*report));
  CHECK(found[0]->severity == Severity::kWarn);
  CHECK(found[0]->message.find("copies 2 training case(s) verbatim") != std::string::npos);
  CHECK(found[0]->message.find(train[0].case_id) != std::string::npos);
  CHECK(findings_with(*report, "heldout_text").empty());
  CHECK(report->verdict == "warn");
}

TEST_CASE("train_copy blocks when many training cases are pasted") {
  Fixture fixture;
  std::vector<Case> train = fixture.cases_of(Split::kTrain);
  std::string examples = "\nExamples:\n";
  for (std::size_t i = 0; i < kTrainCopyBlockCases; ++i) examples += question_of(train[i]) + "\n";
  auto report = fixture.review(fixture.with_added("answer.md", examples));
  REQUIRE(report.ok());
  auto found = findings_with(*report, "train_copy");
  REQUIRE(found.size() == 1);
  CHECK(found[0]->severity == Severity::kBlock);
  CHECK(found[0]->message.find("copies " + std::to_string(kTrainCopyBlockCases) +
                               " training case(s)") != std::string::npos);
}

TEST_CASE("case_specific_rules warns for answers of several training cases, blocks for many") {
  Fixture fixture;
  std::vector<Case> train = fixture.cases_with_unique_answer(Split::kTrain, 1, 4);
  REQUIRE(train.size() >= kCaseRulesBlockCases);
  auto rules = [&](std::size_t count) {
    std::string text = "\n";
    for (std::size_t i = 0; i < count; ++i) {
      text += "If the question is like case " + std::to_string(i) + ", answer " +
              answer_of(train[i]) + ".\n";
    }
    return fixture.with_added("answer.md", text);
  };
  auto two = fixture.review(rules(2));
  REQUIRE(two.ok());
  CHECK(findings_with(*two, "case_specific_rules").empty());

  auto warned = fixture.review(rules(kCaseRulesWarnCases));
  REQUIRE(warned.ok());
  auto found = findings_with(*warned, "case_specific_rules");
  REQUIRE_MESSAGE(found.size() == 1, ids_of(*warned));
  CHECK(found[0]->severity == Severity::kWarn);
  CHECK(found[0]->message.find("expected answers of 3 training case(s)") != std::string::npos);
  CHECK(found[0]->message.find("prompts/answer.md") == 0);

  auto blocked = fixture.review(rules(kCaseRulesBlockCases));
  REQUIRE(blocked.ok());
  auto many = findings_with(*blocked, "case_specific_rules");
  REQUIRE(many.size() == 1);
  CHECK(many[0]->severity == Severity::kBlock);
}

}  // namespace
}  // namespace fapo
