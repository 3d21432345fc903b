// make_scorer: type dispatch, configuration errors with their paths, and composite scorers.
#include "engine/score/scorer.h"

#include <doctest/doctest.h>

#include "tests/engine/score/scorer_test_helpers.h"

namespace fapo {
namespace {

using nlohmann::json;
using testing::case_error;
using testing::case_with;
using testing::config_error;
using testing::score_of;
using testing::scorer_from;

TEST_CASE("an unknown scorer type suggests the closest known one") {
  Error error = config_error({{"type", "exact_mach"}});
  CHECK(error.code == ErrorCode::kInvalidInput);
  CHECK(error.message.find("scorer.type: unknown scorer type 'exact_mach' (did you mean "
                           "'exact_match'?)") == 0);
  CHECK(error.message.find("known types: exact_match, token_f1") != std::string::npos);
}

TEST_CASE("a missing type or a configuration that is not an object is reported") {
  CHECK(config_error({{"field", "answer"}}).message == "scorer.type: is missing");
  CHECK(config_error(json::array()).message.find("scorer: must be an object") == 0);
}

TEST_CASE("unknown configuration keys are reported with a suggestion") {
  Error error = config_error({{"type", "token_f1"}, {"feild", "answer"}});
  CHECK(error.message.find("scorer.feild: unknown key (did you mean 'field'?)") == 0);
}

TEST_CASE("errors inside composite components name their full path") {
  json config = {{"type", "composite"},
                 {"components",
                  {{{"weight", 1}, {"scorer", {{"type", "exact_match"}}}},
                   {{"weight", 1}, {"scorer", {{"type", "tokn_f1"}}}}}}};
  Error error = config_error(config);
  CHECK(error.message.find("scorer.components[1].scorer.type: unknown scorer type 'tokn_f1' "
                           "(did you mean 'token_f1'?)") == 0);
  json nested = {{"type", "composite"},
                 {"components",
                  {{{"scorer",
                     {{"type", "composite"},
                      {"components", {{{"scorer", {{"type", "regex"}, {"pattern", "("}}}}}}}}}}}};
  CHECK(config_error(nested).message.find(
            "scorer.components[0].scorer.components[0].scorer.pattern: invalid regular") == 0);
  json no_scorer = {{"type", "composite"}, {"components", {{{"weight", 2}}}}};
  CHECK(config_error(no_scorer).message == "scorer.components[0].scorer: is missing");
  json negative = {{"type", "composite"},
                   {"components", {{{"weight", -1}, {"scorer", {{"type", "exact_match"}}}}}}};
  CHECK(config_error(negative).message == "scorer.components[0].weight: must be zero or more");
}

TEST_CASE("composite takes the weighted mean and prefixes component breakdowns") {
  json config = {{"type", "composite"},
                 {"components",
                  {{{"weight", 3}, {"scorer", {{"type", "exact_match"}}}},
                   {{"weight", 1}, {"scorer", {{"type", "contains"}}}}}}};
  auto scorer = scorer_from(config);
  Case case_data = case_with({{"answer", "Paris"}});
  Score partial = score_of(*scorer, case_data, "It is Paris.");
  CHECK(partial.composite == doctest::Approx(25.0));
  CHECK(partial.breakdown.at("0.exact_match") == 0.0);
  CHECK(partial.breakdown.at("0.exact_match.exact_match") == 0.0);
  CHECK(partial.breakdown.at("1.contains") == 100.0);
  CHECK(partial.breakdown.at("1.contains.contains") == 1.0);
  CHECK(score_of(*scorer, case_data, "paris").composite == doctest::Approx(100.0));
  CHECK(score_of(*scorer, case_data, "Lyon").composite == 0.0);
}

TEST_CASE("composite validates the case against every component") {
  json config = {{"type", "composite"},
                 {"components",
                  {{{"scorer", {{"type", "exact_match"}}}},
                   {{"scorer", {{"type", "numeric"}, {"field", "count"}}}}}}};
  Error error = case_error(config, {{"answer", "x"}});
  CHECK(error.code == ErrorCode::kInvalidInput);
  CHECK(error.message == "component 1.numeric: field 'expected.count' is missing");
}

TEST_CASE("every built-in scorer gives 100 at most") {
  for (const char* type : {"exact_match", "token_f1", "contains", "numeric", "label"}) {
    CAPTURE(type);
    CHECK(scorer_from({{"type", type}})->max_score() == 100.0);
  }
}

}  // namespace
}  // namespace fapo
