#include "engine/score/answer_match.h"

#include <doctest/doctest.h>

namespace fapo {
namespace {

TEST_CASE("token overlap counts repeated tokens only as often as both texts hold them") {
  TokenOverlap overlap = token_overlap("the cat the cat sat", "cat sat on mat");
  // Normalised: "cat cat sat" vs "cat sat on mat": 2 common tokens.
  CHECK(overlap.precision == doctest::Approx(2.0 / 3.0));
  CHECK(overlap.recall == doctest::Approx(2.0 / 4.0));
  CHECK(overlap.f1 == doctest::Approx(2 * (2.0 / 3) * 0.5 / (2.0 / 3 + 0.5)));
}

TEST_CASE("token overlap of disjoint or empty texts is zero, of two empty texts one") {
  CHECK(token_overlap("Paris", "London").f1 == 0.0);
  CHECK(token_overlap("", "London").f1 == 0.0);
  CHECK(token_overlap("The.", "a").f1 == 1.0);
}

TEST_CASE("contains_phrase matches whole words only") {
  CHECK(contains_phrase("capital is paris france", "paris"));
  CHECK(contains_phrase("capital is paris france", "paris france"));
  CHECK_FALSE(contains_phrase("capital is parisian", "paris"));
  CHECK_FALSE(contains_phrase("anything", ""));
}

TEST_CASE("finds numbers with thousands separators, signs, decimals and fractions") {
  CHECK(last_number("The total is 1,234 apples.", true) == 1234.0);
  CHECK(last_number("It fell to -3.5 degrees", true) == -3.5);
  CHECK(last_number("about 2/3 of them", true) == doctest::Approx(2.0 / 3.0));
  CHECK(last_number("about 2/3 of them", false) == 3.0);
  CHECK(last_number("pages 3-5", true) == 5.0);
  CHECK(last_number("values 1,2,3", true) == 3.0);
  CHECK_FALSE(last_number("no digits here", true).has_value());
}

TEST_CASE("reads number words only when the text has no digits") {
  CHECK(last_number("There are two of them", true) == 2.0);
  CHECK(last_number("twenty-five", true) == 25.0);
  CHECK(last_number("three hundred and six", true) == 306.0);
  CHECK(last_number("two and three", true) == 3.0);
  CHECK(last_number("two thousand three hundred", true) == 2300.0);
  CHECK(last_number("one two", true) == 2.0);
  CHECK(last_number("no one saw 7 birds", true) == 7.0);
}

TEST_CASE("first_label takes the earliest whole-word label, the longest at a tie") {
  std::vector<std::string> labels = {"SUPPORTED", "NOT SUPPORTED"};
  CHECK(first_label("Verdict: not supported, sadly", labels, false) == "NOT SUPPORTED");
  CHECK(first_label("SUPPORTED (not supported was considered)", labels, false) == "SUPPORTED");
  CHECK_FALSE(first_label("UNSUPPORTED", labels, false).has_value());
  CHECK_FALSE(first_label("supported", labels, true).has_value());
  CHECK(first_label("Answer: (B).", {"(A)", "(B)"}, false) == "(B)");
}

TEST_CASE("parse_json_reply accepts bare JSON and a fenced block, nothing else") {
  CHECK(parse_json_reply(" {\"a\": 1} ")->at("a") == 1);
  CHECK(parse_json_reply("Here:\n```json\n{\"a\": 2}\n```\nDone")->at("a") == 2);
  CHECK(parse_json_reply("```\n[1, 2]\n```")->size() == 2);
  CHECK_FALSE(parse_json_reply("The answer is {a: 1}").has_value());
  CHECK_FALSE(parse_json_reply("```json\n{broken\n```").has_value());
}

TEST_CASE("split_list_items splits lines, commas and semicolons but not numbers") {
  CHECK(split_list_items("- apples\n- pears\n\n3. plums") ==
        std::vector<std::string>{"apples", "pears", "plums"});
  CHECK(split_list_items("red, green; blue") == std::vector<std::string>{"red", "green", "blue"});
  CHECK(split_list_items("1,000 and 2") == std::vector<std::string>{"1,000 and 2"});
}

}  // namespace
}  // namespace fapo
