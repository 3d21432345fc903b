// regex, numeric and label.
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

TEST_CASE("regex searches the raw output with a configured pattern") {
  json config = {{"type", "regex"}, {"pattern", "^Answer: [A-D]$"}, {"flags", "m"}};
  CHECK(composite_of(config, json::object(), "Reasoning...\nAnswer: C") == 100.0);
  CHECK(composite_of(config, json::object(), "answer: c") == 0.0);
  json ignore_case = {{"type", "regex"}, {"pattern", "answer: [a-d]"}, {"flags", "i"}};
  CHECK(composite_of(ignore_case, json::object(), "ANSWER: C") == 100.0);
}

TEST_CASE("regex reads a per-case pattern from an expected field") {
  json config = {{"type", "regex"}, {"field", "pattern"}};
  auto scorer = scorer_from(config);
  Score score = score_of(*scorer, case_with({{"pattern", "\\b42\\b"}}), "It is 42.");
  CHECK(score.breakdown.at("match") == 1.0);
  CHECK(score_of(*scorer, case_with({{"pattern", "\\b42\\b"}}), "It is 421.").composite == 0);
  Error error = case_error(config, {{"pattern", "(unclosed"}});
  CHECK(error.code == ErrorCode::kInvalidInput);
  CHECK(error.message.find("field 'expected.pattern': invalid regular expression") !=
        std::string::npos);
}

TEST_CASE("regex configuration errors name the field") {
  Error bad = config_error({{"type", "regex"}, {"pattern", "a(b"}});
  CHECK(bad.code == ErrorCode::kInvalidInput);
  CHECK(bad.message.find("scorer.pattern: invalid regular expression 'a(b'") == 0);
  Error flags = config_error({{"type", "regex"}, {"pattern", "a"}, {"flags", "ix"}});
  CHECK(flags.message.find("unknown regex flag 'x'") != std::string::npos);
  Error neither = config_error({{"type", "regex"}});
  CHECK(neither.message.find("give either 'pattern'") != std::string::npos);
  Error both = config_error({{"type", "regex"}, {"pattern", "a"}, {"field", "p"}});
  CHECK(both.message.find("scorer.pattern") == 0);
}

TEST_CASE("numeric compares the last number of the output within the tolerance") {
  json config = {{"type", "numeric"}};
  CHECK(composite_of(config, {{"answer", 1234}}, "Step 1: 12. So the total is 1,234.") == 100);
  CHECK(composite_of(config, {{"answer", "-3.5"}}, "x = -3.5") == 100.0);
  CHECK(composite_of(config, {{"answer", 2}}, "The answer is two") == 100.0);
  CHECK(composite_of(config, {{"answer", "2/3"}}, "0.667") == 0.0);
  json loose = {{"type", "numeric"}, {"tolerance", 1e-3}};
  CHECK(composite_of(loose, {{"answer", "2/3"}}, "0.667") == 100.0);
  json relative = {{"type", "numeric"}, {"tolerance", 0}, {"relative_tolerance", 0.01}};
  CHECK(composite_of(relative, {{"answer", 1000}}, "about 1009") == 100.0);
  CHECK(composite_of(relative, {{"answer", 1000}}, "about 1011") == 0.0);
}

TEST_CASE("numeric reports whether a number was found") {
  auto scorer = scorer_from({{"type", "numeric"}});
  Score none = score_of(*scorer, case_with({{"answer", 3}}), "I cannot tell.");
  CHECK(none.composite == 0.0);
  CHECK(none.breakdown.at("number_found") == 0.0);
  Score wrong = score_of(*scorer, case_with({{"answer", 3}}), "It is 4");
  CHECK(wrong.breakdown.at("number_found") == 1.0);
  CHECK(wrong.breakdown.at("correct") == 0.0);
}

TEST_CASE("numeric rejects expected values that are not one number") {
  Error error = case_error({{"type", "numeric"}}, {{"answer", "between 3 and 4"}});
  CHECK(error.message == "field 'expected.answer' must hold one number, got \"between 3 and 4\"");
  CHECK(case_error({{"type", "numeric"}}, {{"answer", {1, true}}}).message ==
        "field 'expected.answer' must hold one number, got true");
  CHECK(composite_of({{"type", "numeric"}}, {{"answer", 1e-7}}, "0.0000001") == 100.0);
  CHECK(composite_of({{"type", "numeric"}}, {{"answer", {"7", 8}}}, "8") == 100.0);
  Error tolerance = config_error({{"type", "numeric"}, {"tolerance", "small"}});
  CHECK(tolerance.message == "scorer.tolerance: must be a number, got string");
}

TEST_CASE("label takes the first allowed label in the output") {
  json config = {{"type", "label"}, {"labels", {"SUPPORTED", "NOT_SUPPORTED"}}};
  auto scorer = scorer_from(config);
  Case supported = case_with({{"answer", "SUPPORTED"}});
  Score right = score_of(*scorer, supported, "The claim is supported by both documents.");
  CHECK(right.composite == 100.0);
  CHECK(right.breakdown.at("label_found") == 1.0);
  Score wrong = score_of(*scorer, supported, "not_supported. (It is not SUPPORTED.)");
  CHECK(wrong.composite == 0.0);
  CHECK(wrong.breakdown.at("label_found") == 1.0);
  Score missing = score_of(*scorer, supported, "I am unsure");
  CHECK(missing.breakdown.at("label_found") == 0.0);
}

TEST_CASE("label honours case_sensitive and checks expected labels against the set") {
  json strict = {{"type", "label"}, {"labels", {"A", "B"}}, {"case_sensitive", true}};
  CHECK(composite_of(strict, {{"answer", "B"}}, "b") == 0.0);
  CHECK(composite_of(strict, {{"answer", "B"}}, "B") == 100.0);
  Error error = case_error(strict, {{"answer", "C"}});
  CHECK(error.message.find("'C', which is not one of the scorer's labels: A, B") !=
        std::string::npos);
}

TEST_CASE("label without a label set compares the whole output") {
  json config = {{"type", "label"}};
  CHECK(composite_of(config, {{"answer", "Positive"}}, " \"positive.\" ") == 100.0);
  CHECK(composite_of(config, {{"answer", "Positive"}}, "very positive") == 0.0);
  Error empty = config_error({{"type", "label"}, {"labels", json::array()}});
  CHECK(empty.message.find("scorer.labels: is empty") == 0);
}

}  // namespace
}  // namespace fapo
