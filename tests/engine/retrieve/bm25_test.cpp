#include "engine/retrieve/bm25.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <thread>

namespace fapo {
namespace {

std::vector<Passage> sample_passages() {
  return {
      {"p0", "Ada Lovelace",
       "Ada Lovelace was an English mathematician who wrote the first "
       "program for the Analytical Engine."},
      {"p1", "Charles Babbage", "Babbage designed the Analytical Engine, a mechanical computer."},
      {"p2", "Marathon",
       "A marathon runner runs 42 kilometres; running long races needs "
       "training."},
      {"p3", "Paris", "Paris is the capital of France, on the Seine."},
      {"p4", "Cooking", "Bread needs flour, water, salt and yeast."},
  };
}

std::vector<std::size_t> indices(const std::vector<RetrievalHit>& hits) {
  std::vector<std::size_t> out;
  for (const RetrievalHit& hit : hits) out.push_back(hit.index);
  return out;
}

TEST_CASE("terms are lowercase stems without stop words") {
  CHECK(bm25_terms("The Runner was RUNNING, and runs!") ==
        std::vector<std::string>{"runner", "run", "run"});
  CHECK(bm25_terms("   ,;  ").empty());
}

TEST_CASE("stemming lets 'running' match a passage that says 'runs'") {
  Bm25Index index =
      Bm25Index::build({{"a", "", "She runs every day."}, {"b", "", "He swims every day."}});
  std::vector<RetrievalHit> hits = index.search("running", 5);
  REQUIRE(hits.size() == 1);
  CHECK(index.passage(hits[0].index).id == "a");
  CHECK(hits[0].score > 0);
}

TEST_CASE("ranks the obviously relevant passage first") {
  Bm25Index index = Bm25Index::build(sample_passages());
  REQUIRE(index.size() == 5);
  std::vector<RetrievalHit> hits = index.search("What is the capital of France?", 3);
  REQUIRE_FALSE(hits.empty());
  CHECK(index.passage(hits[0].index).id == "p3");

  hits = index.search("Who designed the Analytical Engine?", 2);
  REQUIRE(hits.size() == 2);
  CHECK(index.passage(hits[0].index).id == "p1");
  CHECK(index.passage(hits[1].index).id == "p0");
  CHECK(hits[0].score > hits[1].score);
}

TEST_CASE("the title counts as part of the passage") {
  Bm25Index index = Bm25Index::build(sample_passages());
  std::vector<RetrievalHit> hits = index.search("cooking", 5);
  REQUIRE(hits.size() == 1);
  CHECK(index.passage(hits[0].index).id == "p4");
}

TEST_CASE("k larger than the corpus returns every matching passage once") {
  Bm25Index index = Bm25Index::build(sample_passages());
  std::vector<RetrievalHit> hits = index.search("engine paris bread marathon lovelace", 50);
  CHECK(hits.size() == 5);
  std::vector<std::size_t> found = indices(hits);
  std::sort(found.begin(), found.end());
  CHECK(found == std::vector<std::size_t>{0, 1, 2, 3, 4});
}

TEST_CASE("an empty query, a stop-word query or k <= 0 give no hits") {
  Bm25Index index = Bm25Index::build(sample_passages());
  CHECK(index.search("", 5).empty());
  CHECK(index.search("the of and", 5).empty());
  CHECK(index.search("paris", 0).empty());
  CHECK(index.search("paris", -1).empty());
  CHECK(index.search("zeppelin", 5).empty());
  CHECK(Bm25Index().search("paris", 5).empty());
}

TEST_CASE("equal scores keep corpus order") {
  Bm25Index index =
      Bm25Index::build({{"x", "", "apple pie"}, {"y", "", "apple tart"}, {"z", "", "apple cake"}});
  std::vector<RetrievalHit> hits = index.search("apple", 2);
  CHECK(indices(hits) == std::vector<std::size_t>{0, 1});
  CHECK(hits[0].score == hits[1].score);
}

TEST_CASE("rare terms weigh more than common ones") {
  Bm25Index index = Bm25Index::build({{"a", "", "river bank"},
                                      {"b", "", "river flow"},
                                      {"c", "", "river delta"},
                                      {"d", "", "money bank"}});
  std::vector<RetrievalHit> hits = index.search("river money", 4);
  REQUIRE_FALSE(hits.empty());
  CHECK(index.passage(hits[0].index).id == "d");
}

TEST_CASE("concurrent searches from 8 threads give identical results") {
  std::vector<Passage> passages = sample_passages();
  for (int i = 0; i < 200; ++i) {
    passages.push_back({"g" + std::to_string(i), "Topic " + std::to_string(i % 7),
                        "running engines and rivers number " + std::to_string(i % 13)});
  }
  const Bm25Index index = Bm25Index::build(std::move(passages));
  const std::vector<std::string> queries = {"running engine", "Analytical Engine program",
                                            "topic 3 rivers", "capital of France"};
  std::vector<std::vector<RetrievalHit>> expected;
  for (const std::string& query : queries) expected.push_back(index.search(query, 10));

  std::vector<int> mismatches(8, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 200; ++round) {
        std::size_t q = static_cast<std::size_t>(round + t) % queries.size();
        std::vector<RetrievalHit> hits = index.search(queries[q], 10);
        bool same = hits.size() == expected[q].size();
        for (std::size_t i = 0; same && i < hits.size(); ++i) {
          same = hits[i].index == expected[q][i].index && hits[i].score == expected[q][i].score;
        }
        if (!same) ++mismatches[static_cast<std::size_t>(t)];
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  CHECK(mismatches == std::vector<int>(8, 0));
  CHECK(expected[0].size() == 10);
}

TEST_CASE("formats passages as numbered lines in rank order") {
  Bm25Index index = Bm25Index::build({{"a", "Ada", "first\nline"}, {"b", "", "untitled text"}});
  std::vector<RetrievalHit> hits = {{1, 2.0}, {0, 1.0}};
  CHECK(format_passages(index, hits) == "[1] «untitled text»\n[2] «Ada | first line»");
  CHECK(format_passages(index, {}).empty());
}

}  // namespace
}  // namespace fapo
