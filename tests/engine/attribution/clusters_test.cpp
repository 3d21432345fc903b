#include "engine/attribution/clusters.h"

#include <doctest/doctest.h>

namespace fapo {
namespace {

Attribution failure(std::string id, FailureClass value, std::string step, OutputPattern pattern) {
  Attribution attribution;
  attribution.case_id = std::move(id);
  attribution.failure_class = value;
  attribution.step_id = std::move(step);
  attribution.pattern = pattern;
  attribution.confidence = 0.8;
  return attribution;
}

TEST_CASE("groups failures by class, step and pattern, largest cluster first") {
  std::vector<Attribution> failures = {
      failure("a", FailureClass::kFormat, "answer", OutputPattern::kTooLong),
      failure("b", FailureClass::kRetrievalMiss, "hop2", OutputPattern::kWrongContent),
      failure("c", FailureClass::kFormat, "answer", OutputPattern::kTooLong),
      failure("d", FailureClass::kFormat, "answer", OutputPattern::kRefusalOrHedge)};
  std::map<std::string, double> means = {{"a", 0}, {"b", 0}, {"c", 0}, {"d", 0}, {"e", 100}};
  FailureAnalysis analysis = analyse_failures(failures, means, 100, 1);
  REQUIRE(analysis.clusters.size() == 3);
  const Cluster& first = analysis.clusters[0];
  CHECK(first.failure_class == FailureClass::kFormat);
  CHECK(first.pattern == OutputPattern::kTooLong);
  CHECK(first.count == 2);
  CHECK(first.share == doctest::Approx(0.5));
  CHECK(first.example_case_ids == std::vector<std::string>{"a"});  // max_examples = 1
  CHECK(first.case_ids == std::vector<std::string>{"a", "c"});
  CHECK(first.level == ChangeLevel::kPrompt);
}

TEST_CASE("estimates the ceiling of each level and recommends the smallest worthwhile one") {
  std::vector<Attribution> failures = {
      failure("a", FailureClass::kFormat, "answer", OutputPattern::kTooLong),
      failure("b", FailureClass::kRetrievalMiss, "hop2", OutputPattern::kWrongContent),
      failure("c", FailureClass::kRetrievalMiss, "hop2", OutputPattern::kWrongContent),
      failure("d", FailureClass::kCascade, "verify", OutputPattern::kEmpty),
      failure("e", FailureClass::kInfrastructure, "answer", OutputPattern::kEmpty)};
  // e was not scored: it counts in clusters, not in ceilings.
  std::map<std::string, double> means = {{"a", 0}, {"b", 0}, {"c", 50}, {"d", 0},
                                         {"f", 100}, {"g", 100}, {"h", 100}, {"i", 100}};
  FailureAnalysis analysis = analyse_failures(failures, means, 100, 5);
  REQUIRE(analysis.ceilings.size() == 3);
  CHECK(analysis.ceilings[0].level == ChangeLevel::kPrompt);
  CHECK(analysis.ceilings[0].addressable == 1);
  CHECK(analysis.ceilings[0].ceiling == doctest::Approx(550.0 / 8));
  CHECK(analysis.ceilings[1].addressable == 3);
  CHECK(analysis.ceilings[1].ceiling == doctest::Approx(700.0 / 8));
  CHECK(analysis.ceilings[1].cumulative == doctest::Approx(100));
  CHECK(analysis.ceilings[2].addressable == 3);  // structural: retrieval and cascade, not format
  // Gains: prompt 12.5, parameter 31.25: prompt is less than half of the best, so parameter.
  CHECK(analysis.recommended == ChangeLevel::kParameter);
  CHECK(analysis.recommendation.find("parameter") != std::string::npos);
}

TEST_CASE("recommends the prompt level when it holds half of the largest gain") {
  std::vector<Attribution> failures = {
      failure("a", FailureClass::kFormat, "answer", OutputPattern::kTooLong),
      failure("b", FailureClass::kReasoning, "answer", OutputPattern::kRefusalOrHedge),
      failure("c", FailureClass::kRetrievalMiss, "hop1", OutputPattern::kWrongContent),
      failure("d", FailureClass::kRetrievalMiss, "hop2", OutputPattern::kWrongContent),
      failure("e", FailureClass::kCascade, "hop2", OutputPattern::kEmpty)};
  std::map<std::string, double> means = {{"a", 0}, {"b", 0}, {"c", 0}, {"d", 0}, {"e", 0}};
  FailureAnalysis analysis = analyse_failures(failures, means, 100, 5);
  CHECK(analysis.recommended == ChangeLevel::kPrompt);
}

TEST_CASE("maps classes to the levels that can address them") {
  CHECK(suggested_level(FailureClass::kDroppedEvidence) == ChangeLevel::kPrompt);
  CHECK(suggested_level(FailureClass::kCascade) == ChangeLevel::kParameter);
  CHECK(suggested_level(FailureClass::kToolFailure) == ChangeLevel::kStructural);
  CHECK(suggested_level(FailureClass::kInfrastructure) == ChangeLevel::kNone);
  CHECK(level_addresses(ChangeLevel::kStructural, FailureClass::kRetrievalMiss));
  CHECK_FALSE(level_addresses(ChangeLevel::kStructural, FailureClass::kFormat));
  CHECK_FALSE(level_addresses(ChangeLevel::kPrompt, FailureClass::kRetrievalMiss));
}

TEST_CASE("says there is nothing to attribute when no case failed") {
  FailureAnalysis analysis = analyse_failures({}, {{"a", 100}}, 100, 5);
  CHECK(analysis.clusters.empty());
  CHECK(analysis.recommended == ChangeLevel::kNone);
  CHECK(analysis.recommendation.find("No failed cases") != std::string::npos);
}

}  // namespace
}  // namespace fapo
