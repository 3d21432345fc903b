#include <doctest/doctest.h>

#include "engine/protocol/laboratory.h"
#include "tests/engine/protocol/protocol_fixture.h"

namespace fapo {
namespace {

using nlohmann::json;
using testing::kAnswerFix;
using testing::ProtocolFixture;
using testing::Runs;

std::vector<JournalEntry> entries(Laboratory& lab, const std::string& kind) {
  auto found = lab.journal().entries(kind);
  REQUIRE(found.ok());
  return *found;
}

TEST_CASE("compare runs the missing evaluations and accepts the README's prompt fix") {
  ProtocolFixture f;
  VariantRecord fix = f.reviewed(kAnswerFix);
  std::vector<std::string> messages;
  WaitOptions wait = ProtocolFixture::waiting();
  wait.on_progress = [&](std::size_t, std::size_t, const std::string& message) {
    messages.push_back(message);
  };
  auto outcome = f.lab->compare(*f.runs, fix.name, "best", "validation", wait);
  REQUIRE_MESSAGE(outcome.ok(), (outcome.ok() ? "" : outcome.error().message));
  CHECK(outcome->status == "decided");
  CHECK(outcome->decisive);
  REQUIRE(outcome->comparison.has_value());
  CHECK(outcome->comparison->accepted);
  CHECK(outcome->comparison->mean_difference > 5);
  CHECK(outcome->best.variant_id == fix.variant_id);
  CHECK(f.lab->best()->name == fix.name);
  // The fix moves failures out of the format class: fewer failed cases on the candidate side.
  REQUIRE(outcome->failure_deltas.is_object());
  CHECK(outcome->failure_deltas["split"] == "validation");
  CHECK(outcome->failure_deltas["candidate"]["failed_cases"].get<double>() <
        outcome->failure_deltas["incumbent"]["failed_cases"].get<double>());
  CHECK_FALSE(outcome->failure_deltas["classes"].empty());

  // One evaluation per side, acceptance.trials each, journaled as validation runs.
  REQUIRE(outcome->evaluations.size() == 2);
  for (const PendingEvaluation& evaluation : outcome->evaluations) {
    CHECK(evaluation.started_now);
    CHECK(evaluation.trials == 3);
  }
  CHECK(outcome->estimate.calls >= 2 * 88 * 3 * 3);
  REQUIRE_FALSE(messages.empty());
  CHECK(messages.front().find("about " + std::to_string(outcome->estimate.calls) +
                              " model calls") != std::string::npos);
  auto runs = entries(*f.lab, "run");
  REQUIRE(runs.size() == 2);
  for (const JournalEntry& run : runs) CHECK(run.payload["purpose"] == "validation");
  auto decisions = entries(*f.lab, "decision");
  REQUIRE(decisions.size() == 1);
  CHECK(decisions[0].payload == json{{"candidate", fix.variant_id},
                                     {"incumbent", f.lab->resolve("baseline")->variant_id},
                                     {"accepted", true},
                                     {"split", "validation"}});
  CHECK(entries(*f.lab, "comparison").size() == 1);

  SUBCASE("comparing again reuses the runs on disk, starts nothing and decides the same") {
    // Both variants have their trials: no evaluation is missing.
    auto again = f.lab->compare(*f.runs, fix.name, "baseline", "validation", wait);
    REQUIRE_MESSAGE(again.ok(), (again.ok() ? "" : again.error().message));
    CHECK(again->evaluations.empty());
    CHECK(again->estimate.calls == 0);
    CHECK(again->comparison->p_value == outcome->comparison->p_value);
    CHECK(again->comparison->ci_low == outcome->comparison->ci_low);
    CHECK(f.runs_on_disk() == 2);
    // The baseline is no longer the best: this comparison informs but does not decide.
    CHECK_FALSE(again->decisive);
    CHECK(again->note.find("not the current best") != std::string::npos);
    CHECK(entries(*f.lab, "decision").size() == 1);
  }
}

TEST_CASE("a copy that changes nothing is rejected and the best stays") {
  ProtocolFixture f;
  VariantRecord noop = f.reviewed("Read the passages.");
  auto outcome =
      f.lab->compare(*f.runs, noop.name, "best", "validation", ProtocolFixture::waiting());
  REQUIRE_MESSAGE(outcome.ok(), (outcome.ok() ? "" : outcome.error().message));
  CHECK(outcome->status == "decided");
  CHECK(outcome->decisive);
  CHECK_FALSE(outcome->comparison->accepted);
  CHECK(outcome->best.name == "v000");
  auto decisions = entries(*f.lab, "decision");
  REQUIRE(decisions.size() == 1);
  CHECK(decisions[0].payload["accepted"] == false);
  CHECK(f.lab->view(noop.name)->decision.has_value());
}

TEST_CASE("train comparisons inform but never decide") {
  ProtocolFixture f;
  VariantRecord fix = f.propose(kAnswerFix);  // unreviewed is fine on train
  auto outcome = f.lab->compare(*f.runs, fix.name, "best", "train", ProtocolFixture::waiting());
  REQUIRE_MESSAGE(outcome.ok(), (outcome.ok() ? "" : outcome.error().message));
  CHECK(outcome->status == "decided");
  CHECK_FALSE(outcome->decisive);
  CHECK(outcome->comparison->accepted);
  CHECK(outcome->note.find("train comparisons inform but never decide") != std::string::npos);
  CHECK(outcome->best.name == "v000");
  CHECK(entries(*f.lab, "decision").empty());
  CHECK(entries(*f.lab, "comparison").size() == 1);
  for (const JournalEntry& run : entries(*f.lab, "run")) CHECK(run.payload["purpose"] == "train");
}

TEST_CASE("compare refuses the test split, unreviewed and failed variants, and itself") {
  ProtocolFixture f;
  VariantRecord fix = f.propose(kAnswerFix);
  auto test = f.lab->compare(*f.runs, fix.name, "best", "test");
  REQUIRE_FALSE(test.ok());
  CHECK(test.error().code == ErrorCode::kInvalidInput);
  CHECK(test.error().message.find("the test split is reachable only through final_test") !=
        std::string::npos);

  auto unreviewed = f.lab->compare(*f.runs, fix.name);
  REQUIRE_FALSE(unreviewed.ok());
  CHECK(unreviewed.error().code == ErrorCode::kConflict);
  CHECK(unreviewed.error().message.find(fix.name + " has not been reviewed") != std::string::npos);

  VariantRecord leaky =
      f.propose("For example: " + f.question_of_split(Split::kValidation) + " Answer.");
  REQUIRE(f.lab->review(leaky.name)->verdict == "fail");
  for (const char* split : {"validation", "train"}) {
    auto failed = f.lab->compare(*f.runs, leaky.name, "best", split);
    REQUIRE_FALSE(failed.ok());
    CHECK(failed.error().code == ErrorCode::kConflict);
    CHECK(failed.error().message.find(leaky.name + " failed review") != std::string::npos);
  }

  auto itself = f.lab->compare(*f.runs, "baseline", "best");
  REQUIRE_FALSE(itself.ok());
  CHECK(itself.error().message.find("the same variant (v000)") != std::string::npos);
  auto unknown = f.lab->compare(*f.runs, "v042");
  REQUIRE_FALSE(unknown.ok());
  CHECK(unknown.error().code == ErrorCode::kNotFound);
  CHECK(f.runs_on_disk() == 0);
  CHECK(entries(*f.lab, "run").empty());
}

TEST_CASE("an uncontrolled comparison is refused, naming what differs") {
  ProtocolFixture f;
  VariantRecord fix = f.propose(kAnswerFix);
  // The baseline's runs are made with one set of simulated-model rules...
  auto first = f.lab->compare(*f.runs, fix.name, "baseline", "train", ProtocolFixture::waiting());
  REQUIRE(first.ok());
  // ...then the rules change and a new variant is evaluated under the new ones.
  const auto config = f.workspace->tenant_dir(testing::kTenant) / "tenant.json";
  json doc = json::parse(testing::read_text(config));
  doc["sim"]["seed"] = 18;
  testing::write_text(config, doc.dump(2));
  VariantRecord other = f.propose("Be careful.");
  auto refused =
      f.lab->compare(*f.runs, other.name, "baseline", "train", ProtocolFixture::waiting());
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().code == ErrorCode::kConflict);
  CHECK(refused.error().message.find("not a controlled comparison") != std::string::npos);
  CHECK(refused.error().message.find("simulated-model rules") != std::string::npos);
}

TEST_CASE("an evaluation that outlasts the wait is picked up by the next compare, not restarted") {
  ProtocolFixture f(Runs::kGated);
  VariantRecord fix = f.reviewed(kAnswerFix);
  auto first = f.lab->compare(*f.runs, fix.name, "best", "validation",
                              ProtocolFixture::waiting(std::chrono::milliseconds(0)));
  REQUIRE_MESSAGE(first.ok(), (first.ok() ? "" : first.error().message));
  CHECK(first->status == "evaluating");
  CHECK_FALSE(first->comparison.has_value());
  REQUIRE(first->evaluations.size() == 2);
  CHECK(first->note.find("call compare again") != std::string::npos);
  CHECK(first->estimate.calls > 0);

  // A second Laboratory on the same tenant (another session) sees the same running runs.
  std::unique_ptr<Laboratory> other = f.open_lab();
  auto second = other->compare(*f.runs, fix.name, "best", "validation",
                               ProtocolFixture::waiting(std::chrono::milliseconds(0)));
  REQUIRE_MESSAGE(second.ok(), (second.ok() ? "" : second.error().message));
  CHECK(second->status == "evaluating");
  REQUIRE(second->evaluations.size() == 2);
  for (std::size_t i = 0; i < 2; ++i) {
    CHECK_FALSE(second->evaluations[i].started_now);
    CHECK(second->evaluations[i].run_id == first->evaluations[i].run_id);
  }
  CHECK(second->estimate.calls == 0);
  CHECK(f.runs_on_disk() == 2);
  CHECK(entries(*f.lab, "run").size() == 2);

  f.gate.open();
  auto third = f.lab->compare(*f.runs, fix.name, "best", "validation", ProtocolFixture::waiting());
  REQUIRE_MESSAGE(third.ok(), (third.ok() ? "" : third.error().message));
  CHECK(third->status == "decided");
  CHECK(third->comparison->accepted);
  CHECK(f.runs_on_disk() == 2);
}

TEST_CASE("the evaluations a comparison needs must fit the budget together") {
  ProtocolFixture f;
  auto config_path = f.workspace->tenant_dir(testing::kTenant) / "tenant.json";
  json doc = json::parse(testing::read_text(config_path));
  doc["budget"]["validation_evaluations"] = 1;
  testing::write_text(config_path, doc.dump(2));
  f.lab = f.open_lab();
  VariantRecord fix = f.reviewed(kAnswerFix);
  auto refused = f.lab->compare(*f.runs, fix.name);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().code == ErrorCode::kConflict);
  CHECK(refused.error().message.find("validation_evaluations") != std::string::npos);
  CHECK(f.runs_on_disk() == 0);
}

TEST_CASE("running evaluations hold back what they will still spend from the budget") {
  ProtocolFixture f(Runs::kGated);
  VariantRecord fix = f.reviewed(kAnswerFix);
  auto before = f.lab->budget_state();
  REQUIRE(before.ok());
  CHECK(before->committed.calls == 0);
  auto started = f.lab->compare(*f.runs, fix.name, "best", "validation",
                                ProtocolFixture::waiting(std::chrono::milliseconds(0)));
  REQUIRE_MESSAGE(started.ok(), (started.ok() ? "" : started.error().message));
  REQUIRE(started->status == "evaluating");

  // Held at their first result: almost everything is still to be spent, and is unavailable.
  auto during = f.lab->budget_state();
  REQUIRE(during.ok());
  CHECK(during->committed.calls > started->estimate.calls * 9 / 10);
  CHECK(during->committed.calls <= started->estimate.calls);
  CHECK(during->calls_left <=
        during->caps.task_calls - during->calls_spent - during->committed.calls);

  f.gate.open();
  auto decided = f.lab->compare(*f.runs, fix.name, "best", "validation", ProtocolFixture::waiting());
  REQUIRE(decided.ok());
  auto after = f.lab->budget_state();
  REQUIRE(after.ok());
  CHECK(after->committed.calls == 0);
  CHECK(after->calls_spent > before->calls_spent);
}

}  // namespace
}  // namespace fapo
