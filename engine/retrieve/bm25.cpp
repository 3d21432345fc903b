#include "engine/retrieve/bm25.h"

#include <libstemmer.h>

#include <algorithm>
#include <cassert>
#include <cctype>
#include <cmath>
#include <limits>
#include <memory>
#include <unordered_set>

namespace fapo {
namespace {

// Words too common to tell passages apart. Deliberately small: question words such as "who"
// and "when" are in, negations are not, since "not" can change what a passage is about.
const std::unordered_set<std::string_view>& stop_words() {
  static const std::unordered_set<std::string_view> kWords = {
      "a",    "an",   "and",   "are",  "as",   "at",    "be",   "been", "but",   "by",
      "did",  "do",   "does",  "for",  "from", "had",   "has",  "have", "he",    "her",
      "his",  "i",    "in",    "into", "is",   "it",    "its",  "of",   "on",    "or",
      "s",    "she",  "t",     "that", "the",  "their", "them", "then", "there", "these",
      "they", "this", "those", "to",   "was",  "were",  "what", "when", "where", "which",
      "who",  "whom", "why",   "will", "with", "you",   "your"};
  return kWords;
}

struct StemmerDeleter {
  void operator()(sb_stemmer* stemmer) const { sb_stemmer_delete(stemmer); }
};

// A Snowball stemmer keeps state between calls and must not be shared between threads; each
// thread that searches gets its own, freed when the thread ends.
sb_stemmer* thread_stemmer() {
  thread_local std::unique_ptr<sb_stemmer, StemmerDeleter> stemmer(
      sb_stemmer_new("english", nullptr));
  return stemmer.get();
}

std::string stem(sb_stemmer* stemmer, const std::string& word) {
  const sb_symbol* stemmed = sb_stemmer_stem(
      stemmer, reinterpret_cast<const sb_symbol*>(word.data()), static_cast<int>(word.size()));
  if (stemmed == nullptr) return word;  // out of memory inside the stemmer: keep the word
  return std::string(reinterpret_cast<const char*>(stemmed),
                     static_cast<std::size_t>(sb_stemmer_length(stemmer)));
}

// Bytes of UTF-8 sequences count as letters so accented words stay whole.
bool is_word_byte(unsigned char c) { return c >= 0x80 || std::isalnum(c); }

void append_terms(std::string_view text, sb_stemmer* stemmer, std::vector<std::string>& terms) {
  std::string word;
  auto flush = [&] {
    if (!word.empty() && stop_words().count(word) == 0) terms.push_back(stem(stemmer, word));
    word.clear();
  };
  for (char c : text) {
    unsigned char u = static_cast<unsigned char>(c);
    if (is_word_byte(u)) {
      word.push_back(static_cast<char>(std::tolower(u)));
    } else {
      flush();
    }
  }
  flush();
}

std::string single_line(std::string_view text) {
  std::string out(text);
  std::replace_if(
      out.begin(), out.end(), [](char c) { return c == '\n' || c == '\r'; }, ' ');
  return out;
}

}  // namespace

std::vector<std::string> bm25_terms(std::string_view text) {
  sb_stemmer* stemmer = thread_stemmer();
  assert(stemmer != nullptr && "libstemmer has no English stemmer");
  std::vector<std::string> terms;
  if (stemmer != nullptr) append_terms(text, stemmer, terms);
  return terms;
}

Bm25Index Bm25Index::build(std::vector<Passage> passages) {
  assert(passages.size() < std::numeric_limits<std::uint32_t>::max());
  Bm25Index index;
  index.passages_ = std::move(passages);
  index.lengths_.reserve(index.passages_.size());
  double total_length = 0;
  std::unordered_map<std::uint32_t, std::uint32_t> frequencies;
  for (std::size_t i = 0; i < index.passages_.size(); ++i) {
    const Passage& passage = index.passages_[i];
    std::vector<std::string> terms = bm25_terms(passage.title);
    std::vector<std::string> text_terms = bm25_terms(passage.text);
    terms.insert(terms.end(), std::make_move_iterator(text_terms.begin()),
                 std::make_move_iterator(text_terms.end()));
    frequencies.clear();
    for (std::string& term : terms) {
      auto [entry, inserted] = index.term_ids_.try_emplace(
          std::move(term), static_cast<std::uint32_t>(index.postings_.size()));
      if (inserted) index.postings_.emplace_back();
      ++frequencies[entry->second];
    }
    // Passages are visited in order, so every postings list stays sorted by passage.
    for (const auto& [term_id, frequency] : frequencies) {
      index.postings_[term_id].push_back(Posting{static_cast<std::uint32_t>(i), frequency});
    }
    index.lengths_.push_back(static_cast<std::uint32_t>(terms.size()));
    total_length += static_cast<double>(terms.size());
  }
  if (!index.passages_.empty() && total_length > 0) {
    index.average_length_ = total_length / static_cast<double>(index.passages_.size());
  }
  const double count = static_cast<double>(index.passages_.size());
  index.idf_.reserve(index.postings_.size());
  for (const std::vector<Posting>& postings : index.postings_) {
    const double with_term = static_cast<double>(postings.size());
    index.idf_.push_back(std::log(1.0 + (count - with_term + 0.5) / (with_term + 0.5)));
  }
  return index;
}

std::vector<RetrievalHit> Bm25Index::search(std::string_view query, int k) const {
  if (k <= 0 || passages_.empty()) return {};
  std::vector<std::string> terms = bm25_terms(query);
  // Each distinct term counts once, so repeating a word in the query does not outweigh the
  // others; first-appearance order keeps the floating-point sums identical on every call.
  std::unordered_set<std::string> seen;
  std::unordered_map<std::uint32_t, double> scores;
  for (const std::string& term : terms) {
    if (!seen.insert(term).second) continue;
    auto found = term_ids_.find(term);
    if (found == term_ids_.end()) continue;
    const double idf = idf_[found->second];
    for (const Posting& posting : postings_[found->second]) {
      const double frequency = posting.frequency;
      const double length_ratio = lengths_[posting.passage] / average_length_;
      const double saturation = frequency + kK1 * (1.0 - kB + kB * length_ratio);
      scores[posting.passage] += idf * frequency * (kK1 + 1.0) / saturation;
    }
  }
  std::vector<RetrievalHit> hits;
  hits.reserve(scores.size());
  for (const auto& [passage, score] : scores) hits.push_back(RetrievalHit{passage, score});
  auto better = [](const RetrievalHit& a, const RetrievalHit& b) {
    return a.score != b.score ? a.score > b.score : a.index < b.index;
  };
  const std::size_t keep = std::min(hits.size(), static_cast<std::size_t>(k));
  std::partial_sort(hits.begin(), hits.begin() + static_cast<std::ptrdiff_t>(keep), hits.end(),
                    better);
  hits.resize(keep);
  return hits;
}

std::string format_passages(const Bm25Index& index, const std::vector<RetrievalHit>& hits) {
  std::string out;
  for (std::size_t rank = 0; rank < hits.size(); ++rank) {
    const Passage& passage = index.passage(hits[rank].index);
    if (rank > 0) out += "\n";
    out += "[" + std::to_string(rank + 1) + "] «";
    if (!passage.title.empty()) out += single_line(passage.title) + " | ";
    out += single_line(passage.text) + "»";
  }
  return out;
}

}  // namespace fapo
