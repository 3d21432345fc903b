// json_fields and instructions.
#include <doctest/doctest.h>

#include "tests/engine/score/scorer_test_helpers.h"

namespace fapo {
namespace {

using nlohmann::json;
using testing::case_error;
using testing::case_with;
using testing::composite_of;
using testing::config_error;
using testing::score_of;
using testing::scorer_from;

TEST_CASE("json_fields scores the share of matching fields") {
  auto scorer = scorer_from({{"type", "json_fields"}, {"fields", {"cwe", "severity"}}});
  Case case_data = case_with({{"cwe", "CWE-79"}, {"severity", 7.5}});
  Score both = score_of(*scorer, case_data, R"({"cwe": "cwe 79", "severity": 7.5})");
  CHECK(both.composite == 100.0);
  CHECK(both.breakdown.at("parse_ok") == 1.0);
  Score one = score_of(*scorer, case_data, R"({"cwe": "CWE-79", "severity": "high"})");
  CHECK(one.composite == 50.0);
  CHECK(one.breakdown.at("field.cwe") == 1.0);
  CHECK(one.breakdown.at("field.severity") == 0.0);
}

TEST_CASE("json_fields reads a fenced block and reports unparsable replies") {
  auto scorer = scorer_from({{"type", "json_fields"}, {"fields", {"answer"}}});
  Case case_data = case_with({{"answer", 12}});
  CHECK(score_of(*scorer, case_data, "Sure!\n```json\n{\"answer\": \"12\"}\n```").composite ==
        100.0);
  Score broken = score_of(*scorer, case_data, "{answer: 12}");
  CHECK(broken.composite == 0.0);
  CHECK(broken.breakdown.at("parse_ok") == 0.0);
  CHECK(broken.breakdown.at("field.answer") == 0.0);
  CHECK(score_of(*scorer, case_data, "[12]").breakdown.at("parse_ok") == 0.0);
}

TEST_CASE("json_fields applies field weights") {
  json config = {
      {"type", "json_fields"}, {"fields", {"a", "b"}}, {"field_weights", {{"a", 3}, {"b", 1}}}};
  CHECK(composite_of(config, {{"a", "x"}, {"b", "y"}}, R"({"a": "X", "b": "z"})") == 75.0);
  Error unknown =
      config_error({{"type", "json_fields"}, {"fields", {"a"}}, {"field_weights", {{"c", 1}}}});
  CHECK(unknown.message == "scorer.field_weights.c: is not one of 'fields'");
  Error missing = case_error({{"type", "json_fields"}, {"fields", {"a", "b"}}}, {{"a", 1}});
  CHECK(missing.message == "field 'expected.b' is missing");
}

TEST_CASE("instructions scores the share of checks passed, per check") {
  json config = {{"type", "instructions"},
                 {"checks",
                  {{{"type", "max_words"}, {"value", 5}},
                   {{"type", "must_include"}, {"text", "Paris"}},
                   {{"type", "must_not_include"}, {"text", "sorry"}},
                   {{"type", "lowercase"}},
                   {{"type", "ends_with"}, {"text", "."}}}}};
  auto scorer = scorer_from(config);
  Case case_data = case_with(json::object());
  Score good = score_of(*scorer, case_data, "it is paris.");
  CHECK(good.composite == 100.0);
  Score bad = score_of(*scorer, case_data, "Sorry, I think the capital might be Paris");
  CHECK(bad.composite == doctest::Approx(20.0));
  CHECK(bad.breakdown.at("0.max_words") == 0.0);
  CHECK(bad.breakdown.at("1.must_include") == 1.0);
  CHECK(bad.breakdown.at("2.must_not_include") == 0.0);
  CHECK(bad.breakdown.at("3.lowercase") == 0.0);
  CHECK(bad.breakdown.at("4.ends_with") == 0.0);
}

TEST_CASE("instructions runs json, regex, min_words and starts_with checks") {
  json config = {{"type", "instructions"},
                 {"checks",
                  {{{"type", "json"}},
                   {{"type", "regex"}, {"pattern", "\"items\"\\s*:"}},
                   {{"type", "min_words"}, {"value", 2}},
                   {{"type", "starts_with"}, {"text", "{"}}}}};
  CHECK(composite_of(config, json::object(), R"({"items": [1, 2]})") == 100.0);
  CHECK(composite_of(config, json::object(), "items: none") == 25.0);
}

TEST_CASE("instructions adds each case's own checks from an expected field") {
  json config = {{"type", "instructions"},
                 {"checks", {{{"type", "max_words"}, {"value", 50}}}},
                 {"field", "checks"}};
  auto scorer = scorer_from(config);
  Case case_data = case_with({{"checks", {{{"type", "must_include"}, {"text", "banana"}}}}});
  REQUIRE(scorer->validate_case(case_data).ok());
  Score score = score_of(*scorer, case_data, "An apple a day.");
  CHECK(score.composite == 50.0);
  CHECK(score.breakdown.at("case.0.must_include") == 0.0);
  Error error = case_error(config, {{"checks", {{{"type", "max_words"}}}}});
  CHECK(error.message == "expected.checks[0].value: is missing");
}

TEST_CASE("instructions configuration errors name the check") {
  Error unknown = config_error(
      {{"type", "instructions"},
       {"checks", {{{"type", "max_words"}, {"value", 3}}, {{"type", "max_word"}, {"value", 3}}}}});
  CHECK(unknown.message.find("scorer.checks[1].type: unknown check type 'max_word' (did you "
                             "mean 'max_words'?)") == 0);
  Error regex =
      config_error({{"type", "instructions"}, {"checks", {{{"type", "regex"}, {"pattern", "["}}}}});
  CHECK(regex.message.find("scorer.checks[0].pattern: invalid regular expression") == 0);
  Error none = config_error({{"type", "instructions"}});
  CHECK(none.message.find("scorer.checks: is empty") == 0);
}

}  // namespace
}  // namespace fapo
