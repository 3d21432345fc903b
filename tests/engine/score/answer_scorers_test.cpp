// exact_match, token_f1, contains and set_recall.
#include <doctest/doctest.h>

#include "tests/engine/score/scorer_test_helpers.h"

namespace fapo {
namespace {

using nlohmann::json;
using testing::case_error;
using testing::case_with;
using testing::composite_of;
using testing::score_of;
using testing::scorer_from;

TEST_CASE("exact_match compares normalised text") {
  json config = {{"type", "exact_match"}};
  CHECK(composite_of(config, {{"answer", "The Eiffel Tower"}}, "eiffel tower.") == 100.0);
  CHECK(composite_of(config, {{"answer", "Eiffel Tower"}}, "The tower is the Eiffel Tower") == 0);
}

TEST_CASE("exact_match treats number words and digits alike") {
  json config = {{"type", "exact_match"}};
  CHECK(composite_of(config, {{"answer", "2"}}, "Two") == 100.0);
  CHECK(composite_of(config, {{"answer", 2}}, "two") == 100.0);
  CHECK(composite_of(config, {{"answer", "two"}}, "3") == 0.0);
}

TEST_CASE("exact_match accepts any answer of an array and configured aliases") {
  json multi = {{"type", "exact_match"}};
  CHECK(composite_of(multi, {{"answer", {"NYC", "New York City"}}}, "new york city") == 100.0);
  json aliased = {{"type", "exact_match"}, {"aliases_field", "aliases"}};
  json expected = {{"answer", "Tour Eiffel"}, {"aliases", {"Eiffel Tower"}}};
  auto scorer = scorer_from(aliased);
  Score score = score_of(*scorer, case_with(expected), "Eiffel Tower");
  CHECK(score.composite == 100.0);
  CHECK(score.breakdown.at("exact_match") == 1.0);
  // Without aliases_field, the aliases are not accepted answers.
  CHECK(composite_of(multi, expected, "Eiffel Tower") == 0.0);
  // Aliases are optional per case.
  CHECK(composite_of(aliased, {{"answer", "Paris"}}, "paris") == 100.0);
}

TEST_CASE("exact_match reads the configured field") {
  json config = {{"type", "exact_match"}, {"field", "city"}};
  CHECK(composite_of(config, {{"city", "Lyon"}}, "Lyon") == 100.0);
  Error error = case_error(config, {{"answer", "Lyon"}});
  CHECK(error.code == ErrorCode::kInvalidInput);
  CHECK(error.message == "field 'expected.city' is missing");
}

TEST_CASE("answer scorers reject expected values of the wrong type, naming the field") {
  Error error = case_error({{"type", "exact_match"}}, {{"answer", {{"x", 1}}}});
  CHECK(error.message.find("field 'expected.answer' must be a string") != std::string::npos);
  error = case_error({{"type", "token_f1"}}, {{"answer", {"ok", nullptr}}});
  CHECK(error.message.find("expected.answer[1]") != std::string::npos);
  error = case_error({{"type", "exact_match"}, {"aliases_field", "aliases"}},
                     {{"answer", "x"}, {"aliases", {{"k", 1}}}});
  CHECK(error.message.find("field 'expected.aliases' must be") != std::string::npos);
  error = case_error({{"type", "exact_match"}}, {{"answer", json::array()}});
  CHECK(error.message.find("empty array") != std::string::npos);
}

TEST_CASE("token_f1 scores partial overlap and keeps the best answer") {
  json config = {{"type", "token_f1"}};
  auto scorer = scorer_from(config);
  Score partial = score_of(*scorer, case_with({{"answer", "Barack Obama"}}), "President Obama");
  CHECK(partial.composite == doctest::Approx(50.0));
  CHECK(partial.breakdown.at("precision") == doctest::Approx(0.5));
  CHECK(partial.breakdown.at("recall") == doctest::Approx(0.5));
  Score best = score_of(*scorer, case_with({{"answer", {"Barack Obama", "Obama"}}}), "Obama");
  CHECK(best.composite == doctest::Approx(100.0));
  CHECK(score_of(*scorer, case_with({{"answer", "Paris"}}), "London").composite == 0.0);
}

TEST_CASE("contains finds the answer as whole words inside a longer output") {
  json config = {{"type", "contains"}};
  CHECK(composite_of(config, {{"answer", "Paris"}}, "I believe it is Paris, France.") == 100.0);
  CHECK(composite_of(config, {{"answer", "Paris"}}, "Parisian cafés") == 0.0);
  CHECK(composite_of(config, {{"answer", {"Lyon", "Paris"}}}, "paris") == 100.0);
  CHECK(composite_of(config, {{"answer", "3"}}, "There were three.") == 100.0);
}

TEST_CASE("contains rejects an answer that normalises to nothing") {
  Error error = case_error({{"type", "contains"}}, {{"answer", "The"}});
  CHECK(error.message.find("empty after normalisation") != std::string::npos);
  CHECK(error.message.find("expected.answer") != std::string::npos);
}

TEST_CASE("set_recall reports recall as the composite and precision of listed items") {
  auto scorer = scorer_from({{"type", "set_recall"}, {"field", "items"}});
  Case case_data = case_with({{"items", {"apples", "pears", "plums", "figs"}}});
  Score score = score_of(*scorer, case_data, "- apples\n- pears\n- kiwis");
  CHECK(score.composite == doctest::Approx(50.0));
  CHECK(score.breakdown.at("recall") == doctest::Approx(0.5));
  CHECK(score.breakdown.at("precision") == doctest::Approx(2.0 / 3.0));
  Score all = score_of(*scorer, case_data, "Figs, plums, pears and apples");
  CHECK(all.composite == doctest::Approx(100.0));
  CHECK(all.breakdown.at("precision") == doctest::Approx(1.0));
  CHECK(score_of(*scorer, case_data, "").breakdown.at("precision") == 0.0);
}

TEST_CASE("set_recall needs a non-empty array") {
  json config = {{"type", "set_recall"}};
  CHECK(case_error(config, {{"answer", "apples"}}).message.find("non-empty array") !=
        std::string::npos);
  CHECK(case_error(config, {{"answer", json::array()}}).message.find("got an empty array") !=
        std::string::npos);
  CHECK(case_error(config, {}).message == "field 'expected.answer' is missing");
}

}  // namespace
}  // namespace fapo
