// Checks of the variant's shape: compile, variables, placeholders, scope, parameters, frozen.
#include <doctest/doctest.h>

#include "engine/review/review_checks.h"
#include "tests/engine/review/review_fixture.h"

namespace fapo {
namespace {

using review_testing::findings_with;
using review_testing::Fixture;
using review_testing::ids_of;

nlohmann::json& step_json(nlohmann::json& chain, const std::string& id) {
  for (auto& step : chain["steps"]) {
    if (step["id"] == id) return step;
  }
  FAIL("no step " << id);
  return chain;
}

TEST_CASE("chain_invalid blocks a prompt that does not parse and names the file") {
  Fixture fixture;
  auto report = fixture.review(fixture.with_added("answer.md", "\nAnswer: ${steps.answer\n"));
  REQUIRE(report.ok());
  auto found = findings_with(*report, "chain_invalid");
  REQUIRE(found.size() == 1);
  CHECK(found[0]->severity == Severity::kBlock);
  CHECK(found[0]->message.find("variant/prompts/answer.md:") != std::string::npos);
  CHECK(report->verdict == "fail");
}

TEST_CASE("unknown_variable blocks a variable that resolves to nothing, with a suggestion") {
  Fixture fixture;
  // A structural variant may change placeholders, so only the variable check speaks.
  PipelineConfig candidate = fixture.with_added("answer.md", "\nRestate ${questoin} first.\n");
  auto report = fixture.review(candidate, "structural");
  REQUIRE(report.ok());
  auto found = findings_with(*report, "unknown_variable");
  REQUIRE_MESSAGE(found.size() == 1, ids_of(*report));
  CHECK(found[0]->severity == Severity::kBlock);
  CHECK(found[0]->step == "answer");
  CHECK(found[0]->message.find("${questoin}") != std::string::npos);
  CHECK(found[0]->message.find("did you mean ${question}") != std::string::npos);
}

TEST_CASE("unknown_variable blocks reading a step that runs later") {
  Fixture fixture;
  PipelineConfig candidate =
      fixture.with_added("summarize.md", "\nEarlier answer: ${steps.answer.output}\n");
  auto report = fixture.review(candidate, "structural", {"summarize"});
  REQUIRE(report.ok());
  auto found = findings_with(*report, "unknown_variable");
  REQUIRE(found.size() == 1);
  CHECK(found[0]->step == "summarize");
  CHECK(found[0]->message.find("runs after it") != std::string::npos);
}

TEST_CASE("placeholders_changed blocks a prompt edit that drops or adds a placeholder") {
  Fixture fixture;
  std::string text = fixture.baseline().prompts.at("answer.md");
  std::string without = text;
  without.replace(without.find("${steps.summarize.output}"), 25, "(no notes)");
  without += "\nFirst passages: ${steps.hop1.output}\n";
  auto report = fixture.review(fixture.with_prompt("answer.md", without));
  REQUIRE(report.ok());
  auto found = findings_with(*report, "placeholders_changed");
  REQUIRE_MESSAGE(found.size() == 1, ids_of(*report));
  CHECK(found[0]->severity == Severity::kBlock);
  CHECK(found[0]->step == "answer");
  CHECK(found[0]->message.find("prompts/answer.md") == 0);
  CHECK(found[0]->message.find("removed: ${steps.summarize.output}") != std::string::npos);
  CHECK(found[0]->message.find("added: ${steps.hop1.output}") != std::string::npos);

  SUBCASE("a structural variant may change them") {
    auto structural = fixture.review(fixture.with_prompt("answer.md", without), "structural");
    REQUIRE(structural.ok());
    CHECK(findings_with(*structural, "placeholders_changed").empty());
  }
}

TEST_CASE("level_out_of_scope blocks a level the tenant does not allow") {
  Fixture fixture([](nlohmann::json& doc) { doc["scope"] = {{"levels", {"prompt"}}}; });
  PipelineConfig candidate = fixture.with_chain(
      [](nlohmann::json& chain) { step_json(chain, "hop2")["k"] = 4; });
  auto report = fixture.review(candidate, "parameter", {"hop2"});
  REQUIRE(report.ok());
  auto found = findings_with(*report, "level_out_of_scope");
  REQUIRE(found.size() == 1);
  CHECK(found[0]->severity == Severity::kBlock);
  CHECK(found[0]->message.find("parameter-level") != std::string::npos);
  CHECK(found[0]->message.find("allows only: prompt") != std::string::npos);
}

TEST_CASE("step_out_of_scope blocks an edited step that is not editable") {
  Fixture fixture([](nlohmann::json& doc) {
    doc["scope"] = {{"editable_steps", {"answer", "query2"}}};
  });
  auto allowed = fixture.review(fixture.with_added("answer.md", "\nBe brief.\n"));
  REQUIRE(allowed.ok());
  CHECK(findings_with(*allowed, "step_out_of_scope").empty());

  auto report = fixture.review(fixture.with_added("summarize.md", "\nKeep every name.\n"),
                               "prompt", {"summarize"});
  REQUIRE(report.ok());
  auto found = findings_with(*report, "step_out_of_scope");
  REQUIRE(found.size() == 1);
  CHECK(found[0]->severity == Severity::kBlock);
  CHECK(found[0]->step == "summarize");
  CHECK(found[0]->message.find("answer, query2") != std::string::npos);
}

TEST_CASE("parameter_invalid blocks a value no step can use") {
  Fixture fixture;
  PipelineConfig candidate = fixture.baseline();
  candidate.chain.steps[0].k = 0;  // hop1; the schema would refuse it in chain.json
  auto report = fixture.review(candidate, "parameter", {"hop1"});
  REQUIRE(report.ok());
  auto found = findings_with(*report, "parameter_invalid");
  REQUIRE(found.size() == 1);
  CHECK(found[0]->severity == Severity::kBlock);
  CHECK(found[0]->step == "hop1");
  CHECK(found[0]->message.find("k = 0") != std::string::npos);
  CHECK(found[0]->message.find("from 1 to 50") != std::string::npos);
}

TEST_CASE("parameter_out_of_range blocks a value outside the tenant's range, step entry first") {
  Fixture fixture([](nlohmann::json& doc) {
    doc["scope"] = {{"parameter_ranges", {{"k", {{"max", 10}}}, {"hop2.k", {{"min", 1}, {"max", 4}}}}}};
  });
  PipelineConfig candidate = fixture.with_chain([](nlohmann::json& chain) {
    step_json(chain, "hop1")["k"] = 8;  // within "k"
    step_json(chain, "hop2")["k"] = 6;  // outside "hop2.k"
  });
  auto report = fixture.review(candidate, "parameter", {"hop1", "hop2"});
  REQUIRE(report.ok());
  auto found = findings_with(*report, "parameter_out_of_range");
  REQUIRE_MESSAGE(found.size() == 1, ids_of(*report));
  CHECK(found[0]->severity == Severity::kBlock);
  CHECK(found[0]->step == "hop2");
  CHECK(found[0]->message.find("k = 6") != std::string::npos);
  CHECK(found[0]->message.find("from 1 to 4") != std::string::npos);
  CHECK(found[0]->message.find("\"hop2.k\"") != std::string::npos);
}

TEST_CASE("parameter values the parent already had are not held against the variant") {
  Fixture fixture([](nlohmann::json& doc) {
    doc["scope"] = {{"parameter_ranges", {{"k", {{"min", 3}}}}}};  // the baseline uses k = 2
  });
  auto report = fixture.review(fixture.with_added("answer.md", "\nBe brief.\n"));
  REQUIRE(report.ok());
  CHECK_MESSAGE(report->findings.empty(), ids_of(*report));
}

TEST_CASE("frozen_setting blocks a step that sets a frozen sampling setting") {
  Fixture fixture;
  PipelineConfig candidate = fixture.with_chain(
      [](nlohmann::json& chain) { step_json(chain, "answer")["temperature"] = 0.0; });
  auto report = fixture.review(candidate, "parameter", {"answer"});
  REQUIRE(report.ok());
  auto found = findings_with(*report, "frozen_setting");
  REQUIRE(found.size() == 1);
  CHECK(found[0]->severity == Severity::kBlock);
  CHECK(found[0]->step == "answer");
  CHECK(found[0]->message.find("'temperature' is frozen") != std::string::npos);
}

TEST_CASE("an unfrozen per-step temperature within bounds passes") {
  Fixture fixture([](nlohmann::json& doc) {
    doc["frozen"] = {"model", "top_p", "max_tokens"};
  });
  PipelineConfig candidate = fixture.with_chain(
      [](nlohmann::json& chain) { step_json(chain, "answer")["temperature"] = 0.2; });
  auto report = fixture.review(candidate, "parameter", {"answer"});
  REQUIRE(report.ok());
  CHECK_MESSAGE(report->findings.empty(), ids_of(*report));
}

}  // namespace
}  // namespace fapo
