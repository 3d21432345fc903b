// BM25 retrieval over a tenant's corpus. Passages (title and text together) and queries are
// cut into lowercase words of letters and digits, common English stop words are dropped, and
// the rest are reduced to their Snowball English stems, so "running" finds "runs". Scores use
// k1 = 1.2, b = 0.75 and the Okapi idf with 1 added inside the logarithm, which keeps every
// matching term's weight positive. An inverted index makes a query cost proportional to the
// postings of its terms, not to the corpus size.
//
// The index is built once per tenant and then shared read-only: `search` may be called from
// any number of threads at once (each thread uses its own stemmer).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "engine/retrieve/corpus.h"

namespace fapo {

struct RetrievalHit {
  std::size_t index = 0;  // position of the passage in the index
  double score = 0;
};

class Bm25Index {
 public:
  static constexpr double kK1 = 1.2;
  static constexpr double kB = 0.75;

  Bm25Index() = default;  // an empty index: every search returns no hits
  static Bm25Index build(std::vector<Passage> passages);

  // At most `k` passages that share at least one term with the query, best first; equal scores
  // keep corpus order (lower index first). An empty query, a query of stop words only, or
  // k <= 0 gives no hits.
  std::vector<RetrievalHit> search(std::string_view query, int k) const;

  const Passage& passage(std::size_t index) const { return passages_[index]; }
  std::size_t size() const { return passages_.size(); }

 private:
  struct Posting {
    std::uint32_t passage = 0;
    std::uint32_t frequency = 0;  // occurrences of the term in the passage
  };

  std::vector<Passage> passages_;
  std::vector<std::uint32_t> lengths_;  // terms per passage, after stop words
  double average_length_ = 1;
  std::unordered_map<std::string, std::uint32_t> term_ids_;
  std::vector<std::vector<Posting>> postings_;  // by term id, passages ascending
  std::vector<double> idf_;                     // by term id
};

// The terms the index sees for a text: lowercase words, stop words dropped, stemmed, in order
// of appearance (duplicates kept). Also useful to measure query/passage overlap.
std::vector<std::string> bm25_terms(std::string_view text);

// The output of a retrieve step: one passage a line, numbered from 1 in rank order,
// `[1] «Title | text»` (`[1] «text»` when the title is empty). Line breaks inside a passage
// become spaces so each passage stays on its own line.
std::string format_passages(const Bm25Index& index, const std::vector<RetrievalHit>& hits);

}  // namespace fapo
