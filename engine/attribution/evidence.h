// Evidence: the values a case expects (its accepted answers, and the short intermediate facts
// such as a bridge entity) and the test "does this text hold that value", as attribution needs
// it. Text is compared after the scorers' answer normalisation (case, punctuation, articles,
// number words), with the typographic marks of retrieved passages (« » and the like) treated
// as punctuation; values must occur as whole words. A numeric answer is also found when the
// text writes the same number differently ("54", "54.0", "fifty-four").
//
// Accepted answers are alternatives unless the scorer reads them as a set (set_recall): then a
// text holds the answer only when it holds every item.
//
// Plain values and pure functions; thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/data/case.h"

namespace fapo {

// The normalised form of `text` used for every evidence comparison.
std::string normalize_evidence_text(std::string_view text);

// One expected value with its normalised form (and its number, when it is one).
struct EvidenceValue {
  std::string text;        // as the case writes it
  std::string normalized;  // normalize_evidence_text(text)
  std::optional<double> number;
};

struct CaseEvidence {
  std::vector<EvidenceValue> answers;       // accepted answers (alternatives, or the set items)
  bool answers_form_a_set = false;          // every item is needed (set_recall)
  std::vector<EvidenceValue> intermediate;  // short expected facts that lead to the answer
  std::vector<std::string> gold_titles;     // titles of the passages that hold the evidence
  std::vector<std::string> gold_passage_ids;

  bool has_answers() const { return !answers.empty(); }
};

// What the scorer configuration says about where the answers live.
struct AnswerFields {
  std::string field = "answer";
  std::optional<std::string> aliases_field;
  bool as_set = false;
};

// Reads `scorer` (a tenant's scorer configuration, possibly a composite) for the answer field,
// its aliases field, and whether the answers form a set. Unknown shapes give the defaults.
AnswerFields answer_fields_of(const nlohmann::json& scorer);

// The evidence a case carries. Intermediate values are the expected strings of at most
// kMaxIntermediateWords words outside the answer fields and outside keys that hold wrong
// answers or gold references (distractors, titles, ids).
inline constexpr std::size_t kMaxIntermediateWords = 8;
CaseEvidence case_evidence(const Case& case_data, const AnswerFields& fields);

// Pre-normalised text, so a text checked against several values is normalised once.
class EvidenceText {
 public:
  explicit EvidenceText(std::string_view text);
  bool holds(const EvidenceValue& value) const;
  const std::string& normalized() const { return normalized_; }

 private:
  std::string normalized_;  // with a space at either end, for whole-word search
  std::vector<double> numbers_;
};

// Whether `text` holds the case's answer: any alternative, or every item of a set.
bool holds_answer(const EvidenceText& text, const CaseEvidence& evidence);
// The first value of `values` that `text` holds, if any.
const EvidenceValue* first_held(const EvidenceText& text, const std::vector<EvidenceValue>& values);

// `text` on one line, cut to `max_bytes` (with an ellipsis), in double quotes: how evidence
// sentences cite what a step saw or wrote.
std::string quote_text(std::string_view text, std::size_t max_bytes = 80);

// A retrieved passage as a retrieve step prints it: "[i] «title | text»".
struct RetrievedPassage {
  int rank = 0;
  std::string title;  // empty when the corpus entry has none
  std::string text;
};
std::vector<RetrievedPassage> parse_retrieved_passages(std::string_view output);

}  // namespace fapo
