#include "engine/attribution/evidence.h"

#include <doctest/doctest.h>

namespace fapo {
namespace {

Case make_case(nlohmann::json expected) {
  Case item;
  item.case_id = "c1";
  item.context = {{"question", "Where was the founder of Wase Laboratories born?"}};
  item.expected = std::move(expected);
  return item;
}

TEST_CASE("finds an answer whatever its case, punctuation and articles") {
  CaseEvidence evidence =
      case_evidence(make_case({{"answer", "The Nigucim River"}}), AnswerFields{});
  CHECK(holds_answer(EvidenceText("it flows as the NIGUCIM river."), evidence));
  CHECK(holds_answer(EvidenceText("nigucim-river"), evidence));
  CHECK_FALSE(holds_answer(EvidenceText("the Nigucimara River"), evidence));
}

TEST_CASE("reads retrieved passages whose guillemets touch the first and last words") {
  CaseEvidence evidence = case_evidence(make_case({{"answer", "Hidrecell"}}), AnswerFields{});
  const std::string output = "[1] \u00abOriel Lavis | Born in Hidrecell\u00bb\n"
                             "[2] \u00abHidrecell\u00bb";
  CHECK(holds_answer(EvidenceText(output), evidence));
  auto passages = parse_retrieved_passages(output);
  REQUIRE(passages.size() == 2);
  CHECK(passages[0].rank == 1);
  CHECK(passages[0].title == "Oriel Lavis");
  CHECK(passages[0].text == "Born in Hidrecell");
  CHECK(passages[1].title.empty());
  CHECK(passages[1].text == "Hidrecell");
}

TEST_CASE("matches numbers written in digits, with decimals or in words") {
  CaseEvidence evidence = case_evidence(make_case({{"answer", 54}}), AnswerFields{});
  REQUIRE(evidence.answers.size() == 1);
  CHECK(evidence.answers[0].number == doctest::Approx(54));
  CHECK(holds_answer(EvidenceText("so 6 x 9 = 54."), evidence));
  CHECK(holds_answer(EvidenceText("a total of 54.0 apples"), evidence));
  CHECK(holds_answer(EvidenceText("We get 3 boxes.\nFinal answer: fifty-four"), evidence));
  CHECK_FALSE(holds_answer(EvidenceText("Final answer: 540"), evidence));
}

TEST_CASE("treats a name holding a number as text, not as that number") {
  CaseEvidence evidence = case_evidence(make_case({{"answer", "Route 66"}}), AnswerFields{});
  CHECK_FALSE(evidence.answers[0].number.has_value());
  CHECK_FALSE(holds_answer(EvidenceText("66"), evidence));
  CHECK(holds_answer(EvidenceText("take route 66 west"), evidence));
}

TEST_CASE("accepts any alias, but needs every item of a set-valued answer") {
  Case item = make_case({{"answer", {"Paris", "Lyon"}}, {"aliases", {"Lutetia"}}});
  AnswerFields alternatives{"answer", "aliases", false};
  CaseEvidence any = case_evidence(item, alternatives);
  CHECK(any.answers.size() == 3);
  CHECK(holds_answer(EvidenceText("Lutetia"), any));
  CHECK(holds_answer(EvidenceText("lyon"), any));

  CaseEvidence set = case_evidence(item, answer_fields_of({{"type", "set_recall"}}));
  CHECK(set.answers_form_a_set);
  CHECK_FALSE(holds_answer(EvidenceText("Paris"), set));
  CHECK(holds_answer(EvidenceText("Paris, Lyon"), set));
}

TEST_CASE("keeps short expected facts as intermediate evidence and titles as gold passages") {
  Case item = make_case({{"answer", "Hidrecell"},
                         {"answer_words", "ignored"},
                         {"bridge", "Oriel Lavis"},
                         {"supporting_titles", {"Wase Laboratories", "Oriel Lavis"}},
                         {"distractors", {"Lepon"}},
                         {"explanation", "a long explanation of far more than eight words in "
                                         "total, which is no single fact"}});
  CaseEvidence evidence = case_evidence(item, AnswerFields{});
  REQUIRE(evidence.intermediate.size() == 1);
  CHECK(evidence.intermediate[0].text == "Oriel Lavis");
  CHECK(evidence.gold_titles == std::vector<std::string>{"Wase Laboratories", "Oriel Lavis"});
}

TEST_CASE("reads the answer field of a scorer, also inside a composite") {
  AnswerFields plain = answer_fields_of({{"type", "exact_match"},
                                         {"field", "label"},
                                         {"aliases_field", "also"}});
  CHECK(plain.field == "label");
  CHECK(plain.aliases_field == std::optional<std::string>("also"));
  AnswerFields composite = answer_fields_of(
      {{"type", "composite"},
       {"components", {{{"weight", 1}, {"scorer", {{"type", "numeric"}, {"field", "total"}}}}}}});
  CHECK(composite.field == "total");
  CHECK(answer_fields_of(nullptr).field == "answer");
}

}  // namespace
}  // namespace fapo
