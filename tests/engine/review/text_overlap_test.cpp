#include "engine/review/text_overlap.h"

#include <doctest/doctest.h>

namespace fapo {
namespace {

Case make_case(std::string id, std::string question, nlohmann::json expected) {
  Case item;
  item.case_id = std::move(id);
  item.context["question"] = std::move(question);
  item.expected = std::move(expected);
  return item;
}

TEST_CASE("words drop case, punctuation, corpus markup, articles and number words") {
  CHECK(review_words("[1] «Wase Laboratories | The founder was born in two cities…»") ==
        std::vector<std::string>{"1", "wase", "laboratories", "founder", "was", "born", "in",
                                 "2", "cities"});
  CHECK(review_words("“Quoted” — dash\u00a0and no-break space") ==
        std::vector<std::string>{"quoted", "dash", "and", "no", "break", "space"});
  CHECK(review_words("Ærøskøbing café") == std::vector<std::string>{"Ærøskøbing", "café"});
  CHECK(review_words("").empty());
}

TEST_CASE("a six-word phrase of a case matches; five words or another order do not") {
  CaseTextIndex index;
  index.add_case(make_case("a", "Which river runs through the old city of Fenaes today?",
                           {{"answer", "Nigucim River"}}),
                 false);
  TextFingerprint none;
  CHECK(index.match("note: river runs through old city of fenaes!", none).phrase_cases.count(0));
  CHECK(index.match("river runs through old city", none).phrase_cases.empty());
  CHECK(index.match("city old the through runs river of Fenaes", none).phrase_cases.empty());
}

TEST_CASE("answers match as whole word sequences; short single words never") {
  CaseTextIndex index;
  index.add_case(make_case("a", "q1", {{"answer", "Nigucim River"}}), false);
  index.add_case(make_case("b", "q2", {{"answer", "Hidrecell"}, {"aliases", {"Hid"}}}), false);
  index.add_case(make_case("c", "q3", {{"answer", "yes"}}), false);
  TextFingerprint none;
  CaseMatches matches = index.match("the Nigucim river; hidrecell; yes; Hid", none);
  CHECK(matches.answer_cases.at(0) == true);   // two words
  CHECK(matches.answer_cases.at(1) == false);  // one word of 9 characters
  CHECK(matches.answer_cases.count(2) == 0);   // "yes" is too short to tell
  CHECK(index.match("nigucim", none).answer_cases.empty());  // part of an answer is not it
}

TEST_CASE("entries shared by many cases are task phrasing and never match") {
  CaseTextIndex index;
  for (int i = 0; i < 5; ++i) {
    index.add_case(make_case(std::to_string(i),
                             "In which city was the founder of Company" + std::to_string(i) +
                                 " born?",
                             {{"answer", "Springfield"}}),
                   false);
  }
  TextFingerprint none;
  CaseMatches common = index.match("In which city was the founder of a company born", none);
  CHECK(common.phrase_cases.empty());
  CHECK(index.match("Springfield", none).answer_cases.empty());
  CHECK(index.match("in which city was founder of company3 born", none).phrase_cases.size() == 1);
}

TEST_CASE("an entry a visible case holds is attributed to the visible case only") {
  CaseTextIndex index;
  index.add_case(make_case("hidden", "q", {{"answer", "Oriel Lavis"}}), false);
  index.add_case(make_case("seen", "q", {{"bridge", "Oriel Lavis"}}), true);
  CaseMatches matches = index.match("Oriel Lavis", TextFingerprint{});
  REQUIRE(matches.answer_cases.size() == 1);
  CHECK(matches.answer_cases.count(1) == 1);
}

TEST_CASE("entries the known text already holds do not match") {
  CaseTextIndex index;
  index.add_case(make_case("a", "Which river runs through the old city of Fenaes today?",
                           {{"answer", "Nigucim River"}}),
                 false);
  TextFingerprint known =
      index.fingerprint("Which river runs through the old city of Fenaes? Nigucim River.");
  CaseMatches matches =
      index.match("which river runs through the old city of fenaes - nigucim river", known);
  CHECK(matches.phrase_cases.empty());
  CHECK(matches.answer_cases.empty());
}

TEST_CASE("word similarity is one minus the word edit distance over the longer length") {
  std::vector<std::string> a(40, "w");
  std::vector<std::string> b = a;
  CHECK(word_similarity(a, b, 0.95) == 1.0);
  b[10] = "x";
  CHECK(word_similarity(a, b, 0.95) == doctest::Approx(1.0 - 1.0 / 40));
  b[20] = "y";
  b[30] = "z";  // 3 of 40 changed: 0.925, below the threshold
  CHECK(word_similarity(a, b, 0.95) < 0.95);
  std::vector<std::string> longer = a;
  longer.insert(longer.begin() + 5, {"p", "q", "r", "s"});
  CHECK(word_similarity(a, longer, 0.95) < 0.95);
  CHECK(word_similarity(a, longer, 0.5) == doctest::Approx(1.0 - 4.0 / 44));
  CHECK(word_similarity({}, {}, 0.95) == 1.0);
}

}  // namespace
}  // namespace fapo
