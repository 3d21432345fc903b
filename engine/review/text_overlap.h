// Text overlap between a variant's prompts and the tenant's cases, for the review's leakage and
// copying checks. Text is compared as normalised words (review_words): lowercase, punctuation
// removed (ASCII and the common Unicode marks such as « » “ ” – …, so the corpus markup
// `[i] «title | text»` splits into plain words), articles dropped, number words as digits
// (normalize_answer). Two kinds of evidence are indexed per case, as 64-bit hashes of word
// sequences:
//
//   phrases  every kPhraseWords-word sequence of the case's inputs (context values) and of its
//            expected string values: six words in the same order rarely coincide by chance;
//   answers  each expected string value (any depth of `expected`) of at most kMaxAnswerWords
//            words that is long enough to be telling: at least two words or kMinAnswerChars
//            characters ("Paris" counts, "yes" and "42" do not).
//
// An entry shared by more than kMaxCasesPerEntry cases is phrasing of the task ("in which city
// was founder of") or a common answer, not the content of a case; it never counts. An entry
// that a visible case (a training case) holds is attributed to the visible cases only: text
// the agent may have learned from the training split is no evidence of a held-out leak.
//
// Built once, immutable afterwards, safe to share between threads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "engine/data/case.h"

namespace fapo {

inline constexpr std::size_t kPhraseWords = 6;
inline constexpr std::size_t kMaxAnswerWords = 12;
inline constexpr std::size_t kMinAnswerChars = 5;
inline constexpr std::size_t kMaxCasesPerEntry = 3;

// The normalised words of `text` (see above).
std::vector<std::string> review_words(std::string_view text);

// Hashes of word sequences: every kPhraseWords-word window, and the windows of the lengths
// answers have. Used to tell which entries a text already contained.
struct TextFingerprint {
  std::unordered_set<std::uint64_t> phrases;
  std::unordered_set<std::uint64_t> answers;  // answer entries of the index found in the text
};

// What one text matched, by case number (the order cases were added to the index).
struct CaseMatches {
  std::map<std::uint32_t, bool> phrase_cases;  // case -> true (a phrase of it matched)
  // case -> true when a matched answer has two or more words, false when only single-word
  // answers of it matched.
  std::map<std::uint32_t, bool> answer_cases;
};

class CaseTextIndex {
 public:
  // Case numbers are dense: 0, 1, 2, ... in the order of the calls. `visible`: the case's
  // contents may be shown to whoever writes variants (the training split).
  void add_case(const Case& item, bool visible);
  std::size_t size() const { return cases_; }

  // Everything of the index that `text` contains, for excluding it later (the baseline).
  TextFingerprint fingerprint(std::string_view text) const;

  // Cases whose phrases or answers occur in `text`, leaving out entries present in `known`
  // (text that was there before the edit) and entries shared by too many cases.
  CaseMatches match(std::string_view text, const TextFingerprint& known) const;

 private:
  void add_entry(std::unordered_map<std::uint64_t, std::vector<std::uint32_t>>& map,
                 std::uint64_t key, std::uint32_t case_number);
  void add_text(std::string_view text, std::uint32_t case_number);
  void add_answer(std::string_view text, std::uint32_t case_number);
  // The cases an entry's match is attributed to: its visible cases if any, else all.
  std::vector<std::uint32_t> attributed(const std::vector<std::uint32_t>& cases) const;

  std::uint32_t cases_ = 0;
  std::vector<bool> visible_;
  // Entry hash -> cases holding it; capped at kMaxCasesPerEntry + 1 (then: too common).
  std::unordered_map<std::uint64_t, std::vector<std::uint32_t>> phrases_;
  std::unordered_map<std::uint64_t, std::vector<std::uint32_t>> answers_;
  std::vector<bool> answer_lengths_ = std::vector<bool>(kMaxAnswerWords + 1, false);
};

// Similarity of two word sequences in [0, 1]: 1 - word edit distance / the longer length.
// Returns a value below `threshold` as soon as the distance proves it (banded computation), so
// comparing long, different texts stays cheap.
double word_similarity(const std::vector<std::string>& a, const std::vector<std::string>& b,
                       double threshold);

}  // namespace fapo
