#include "engine/review/text_overlap.h"

#include <algorithm>
#include <cmath>

#include "engine/base/strings.h"

namespace fapo {
namespace {

// Decodes the UTF-8 sequence starting at text[i]; sets `length`. Invalid bytes decode as
// themselves with length 1, which keeps them word characters as normalize_answer does.
std::uint32_t decode_utf8(std::string_view text, std::size_t i, std::size_t& length) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
  unsigned char lead = byte(i);
  std::size_t extra = lead >= 0xF0 ? 3 : lead >= 0xE0 ? 2 : lead >= 0xC0 ? 1 : 0;
  if (i + extra >= text.size()) {
    length = 1;
    return lead;
  }
  std::uint32_t code = extra == 0 ? lead : lead & (0x3F >> extra);
  for (std::size_t k = 1; k <= extra; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) {
      length = 1;
      return lead;
    }
    code = (code << 6) | (byte(i + k) & 0x3F);
  }
  length = extra + 1;
  return code;
}

// Unicode punctuation and spaces that separate words: Latin-1 punctuation and symbols
// (« » ¡ ¿ · and the no-break space), General Punctuation (dashes, quotes, ellipsis, thin
// spaces), CJK punctuation and the fullwidth ASCII punctuation.
bool is_unicode_separator(std::uint32_t code) {
  if (code >= 0xA0 && code <= 0xBF) return true;
  if (code == 0xD7 || code == 0xF7) return true;
  if (code >= 0x2000 && code <= 0x206F) return true;
  if (code >= 0x3000 && code <= 0x303F) return true;
  if (code >= 0xFF01 && code <= 0xFF0F) return true;
  return false;
}

std::string strip_unicode_punctuation(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    if (static_cast<unsigned char>(text[i]) < 0x80) {
      out.push_back(text[i++]);
      continue;
    }
    std::size_t length = 1;
    std::uint32_t code = decode_utf8(text, i, length);
    if (is_unicode_separator(code)) {
      out.push_back(' ');
    } else {
      out.append(text.substr(i, length));
    }
    i += length;
  }
  return out;
}

std::vector<std::uint64_t> word_hashes(const std::vector<std::string>& words) {
  std::vector<std::uint64_t> out;
  out.reserve(words.size());
  for (const std::string& word : words) out.push_back(stable_hash(word));
  return out;
}

// Hash of the word sequence hashes[begin, begin + count).
std::uint64_t span_hash(const std::vector<std::uint64_t>& hashes, std::size_t begin,
                        std::size_t count) {
  return stable_hash(std::string_view(reinterpret_cast<const char*>(hashes.data() + begin),
                                      count * sizeof(std::uint64_t)),
                     count);
}

// Calls `visit(length, hash)` for every window of `hashes` whose length is in `lengths`.
template <typename Visit>
void for_each_window(const std::vector<std::uint64_t>& hashes, const std::vector<bool>& lengths,
                     Visit visit) {
  for (std::size_t length = 1; length < lengths.size(); ++length) {
    if (!lengths[length] || length > hashes.size()) continue;
    for (std::size_t begin = 0; begin + length <= hashes.size(); ++begin) {
      visit(length, span_hash(hashes, begin, length));
    }
  }
}

std::vector<bool> phrase_length() {
  std::vector<bool> lengths(kPhraseWords + 1, false);
  lengths[kPhraseWords] = true;
  return lengths;
}

// Every string value inside `value` (objects and arrays searched at any depth).
void collect_strings(const nlohmann::json& value, std::vector<std::string>& out) {
  if (value.is_string()) {
    out.push_back(value.get<std::string>());
  } else if (value.is_structured()) {
    for (const auto& item : value) collect_strings(item, out);
  }
}

}  // namespace

std::vector<std::string> review_words(std::string_view text) {
  std::string normalized = normalize_answer(strip_unicode_punctuation(text));
  std::vector<std::string> words;
  for (std::string& word : split(normalized, ' ')) {
    if (!word.empty()) words.push_back(std::move(word));
  }
  return words;
}

void CaseTextIndex::add_entry(std::unordered_map<std::uint64_t, std::vector<std::uint32_t>>& map,
                              std::uint64_t key, std::uint32_t case_number) {
  std::vector<std::uint32_t>& cases = map[key];
  if (cases.size() > kMaxCasesPerEntry) return;  // already too common; stop growing
  if (std::find(cases.begin(), cases.end(), case_number) == cases.end()) {
    cases.push_back(case_number);
  }
}

void CaseTextIndex::add_text(std::string_view text, std::uint32_t case_number) {
  std::vector<std::uint64_t> hashes = word_hashes(review_words(text));
  for_each_window(hashes, phrase_length(), [&](std::size_t, std::uint64_t hash) {
    add_entry(phrases_, hash, case_number);
  });
}

void CaseTextIndex::add_answer(std::string_view text, std::uint32_t case_number) {
  std::vector<std::string> words = review_words(text);
  if (words.empty() || words.size() > kMaxAnswerWords) return;
  if (words.size() == 1 && words[0].size() < kMinAnswerChars) return;
  std::vector<std::uint64_t> hashes = word_hashes(words);
  answer_lengths_[words.size()] = true;
  add_entry(answers_, span_hash(hashes, 0, hashes.size()), case_number);
}

void CaseTextIndex::add_case(const Case& item, bool visible) {
  const std::uint32_t number = cases_++;
  visible_.push_back(visible);
  for (const auto& [key, value] : item.context) add_text(value, number);
  std::vector<std::string> expected;
  collect_strings(item.expected, expected);
  for (const std::string& value : expected) {
    add_text(value, number);
    add_answer(value, number);
  }
}

std::vector<std::uint32_t> CaseTextIndex::attributed(
    const std::vector<std::uint32_t>& cases) const {
  std::vector<std::uint32_t> visible;
  for (std::uint32_t number : cases) {
    if (visible_[number]) visible.push_back(number);
  }
  return visible.empty() ? cases : visible;
}

TextFingerprint CaseTextIndex::fingerprint(std::string_view text) const {
  TextFingerprint out;
  std::vector<std::uint64_t> hashes = word_hashes(review_words(text));
  for_each_window(hashes, phrase_length(),
                  [&](std::size_t, std::uint64_t hash) { out.phrases.insert(hash); });
  for_each_window(hashes, answer_lengths_, [&](std::size_t, std::uint64_t hash) {
    if (answers_.count(hash)) out.answers.insert(hash);
  });
  return out;
}

CaseMatches CaseTextIndex::match(std::string_view text, const TextFingerprint& known) const {
  CaseMatches out;
  std::vector<std::uint64_t> hashes = word_hashes(review_words(text));
  for_each_window(hashes, phrase_length(), [&](std::size_t, std::uint64_t hash) {
    auto found = phrases_.find(hash);
    if (found == phrases_.end() || found->second.size() > kMaxCasesPerEntry) return;
    if (known.phrases.count(hash)) return;
    for (std::uint32_t number : attributed(found->second)) out.phrase_cases[number] = true;
  });
  for_each_window(hashes, answer_lengths_, [&](std::size_t length, std::uint64_t hash) {
    auto found = answers_.find(hash);
    if (found == answers_.end() || found->second.size() > kMaxCasesPerEntry) return;
    if (known.answers.count(hash)) return;
    for (std::uint32_t number : attributed(found->second)) {
      bool& multi_word = out.answer_cases[number];
      multi_word = multi_word || length >= 2;
    }
  });
  return out;
}

double word_similarity(const std::vector<std::string>& a, const std::vector<std::string>& b,
                       double threshold) {
  const std::size_t longest = std::max(a.size(), b.size());
  if (longest == 0) return 1.0;
  // Distances above `band` put the similarity below the threshold: no need to compute them.
  const std::size_t band =
      static_cast<std::size_t>(std::floor((1.0 - threshold) * static_cast<double>(longest)));
  const std::size_t diff = a.size() > b.size() ? a.size() - b.size() : b.size() - a.size();
  const double below = std::max(0.0, threshold - 1e-9);
  if (diff > band) return std::min(below, 1.0 - static_cast<double>(diff) / longest);
  const std::size_t kFar = longest + 1;
  std::vector<std::size_t> previous(b.size() + 1, kFar);
  std::vector<std::size_t> current(b.size() + 1, kFar);
  for (std::size_t j = 0; j <= std::min(b.size(), band); ++j) previous[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::fill(current.begin(), current.end(), kFar);
    const std::size_t from = i > band ? i - band : 0;
    const std::size_t to = std::min(b.size(), i + band);
    if (from == 0) current[0] = i;
    std::size_t row_best = from == 0 ? i : kFar;
    for (std::size_t j = std::max<std::size_t>(from, 1); j <= to; ++j) {
      std::size_t cost = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cost = std::min({cost, previous[j] + 1, current[j - 1] + 1});
      current[j] = cost;
      row_best = std::min(row_best, cost);
    }
    if (row_best > band) return below;
    std::swap(previous, current);
  }
  const std::size_t distance = previous[b.size()];
  if (distance > band) return below;
  return 1.0 - static_cast<double>(distance) / static_cast<double>(longest);
}

}  // namespace fapo
