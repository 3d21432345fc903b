#include "engine/journal/journal.h"

#include <doctest/doctest.h>
#include <sqlite3.h>

#include <thread>

#include "tests/test_support.h"

namespace fapo {
namespace {

using nlohmann::json;
using testing::TempDir;

std::unique_ptr<Journal> open_journal(const std::filesystem::path& path) {
  auto journal = Journal::open(path);
  REQUIRE_MESSAGE(journal.ok(), (journal.ok() ? "" : journal.error().message));
  return std::move(journal).value();
}

// Runs `sql` on a separate raw connection; returns SQLite's error message ("" on success).
std::string raw_exec(const std::filesystem::path& path, const std::string& sql) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  char* message = nullptr;
  int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &message);
  std::string out = rc == SQLITE_OK ? "" : (message ? message : "error");
  sqlite3_free(message);
  sqlite3_close(db);
  return out;
}

TEST_CASE("appends entries in order and reads them back by kind") {
  TempDir temp;
  auto journal = open_journal(temp.path() / "state" / "journal.sqlite");
  auto first = journal->append("proposal", "agent", "id1", "shorter answers", {{"name", "v001"}});
  auto second = journal->append("note", "agent", "id1", "retrieval misses dominate", json::object());
  REQUIRE(first.ok());
  REQUIRE(second.ok());
  CHECK(*second > *first);
  auto all = journal->entries();
  REQUIRE(all.ok());
  REQUIRE(all->size() == 2);
  CHECK((*all)[0].kind == "proposal");
  CHECK((*all)[0].payload["name"] == "v001");
  CHECK((*all)[0].reason == "shorter answers");
  CHECK((*all)[0].time.find('T') != std::string::npos);
  auto notes = journal->notes();
  REQUIRE(notes.ok());
  REQUIRE(notes->size() == 1);
  CHECK((*notes)[0].reason == "retrieval misses dominate");
}

TEST_CASE("SQLite itself refuses to update or delete journal entries") {
  TempDir temp;
  const auto path = temp.path() / "journal.sqlite";
  {
    auto journal = open_journal(path);
    REQUIRE(journal->append("note", "agent", "x", "keep me", json::object()).ok());
  }
  CHECK(raw_exec(path, "UPDATE entries SET reason = 'changed';").find("append-only") !=
        std::string::npos);
  CHECK(raw_exec(path, "DELETE FROM entries;").find("append-only") != std::string::npos);
  auto journal = open_journal(path);
  auto all = journal->entries();
  REQUIRE(all.ok());
  REQUIRE(all->size() == 1);
  CHECK((*all)[0].reason == "keep me");
}

TEST_CASE("refuses unknown kinds and payloads that are not objects") {
  TempDir temp;
  auto journal = open_journal(temp.path() / "journal.sqlite");
  auto kind = journal->append("gossip", "agent", "", "", json::object());
  REQUIRE_FALSE(kind.ok());
  CHECK(kind.error().code == ErrorCode::kInvalidInput);
  CHECK(kind.error().message.find("unknown journal entry kind 'gossip'") != std::string::npos);
  auto payload = journal->append("note", "agent", "", "", json::array());
  REQUIRE_FALSE(payload.ok());
  CHECK(payload.error().message.find("must be a JSON object") != std::string::npos);
}

TEST_CASE("the best variant is the candidate of the latest accepted decision") {
  TempDir temp;
  auto journal = open_journal(temp.path() / "journal.sqlite");
  CHECK(*journal->best_variant_id("base") == "base");
  REQUIRE(journal->append("decision", "server", "a", "better",
                          {{"candidate", "a"}, {"incumbent", "base"}, {"accepted", true},
                           {"split", "validation"}}).ok());
  REQUIRE(journal->append("decision", "server", "b", "not better",
                          {{"candidate", "b"}, {"incumbent", "a"}, {"accepted", false},
                           {"split", "validation"}}).ok());
  CHECK(*journal->best_variant_id("base") == "a");
  auto decision = journal->latest_decision("b");
  REQUIRE(decision.ok());
  REQUIRE(decision->has_value());
  CHECK((*decision)->payload["accepted"] == false);
  CHECK_FALSE(journal->latest_decision("c")->has_value());
  CHECK(journal->decisions()->size() == 2);
}

TEST_CASE("latest review, exhausted levels and the sealed final test come from the entries") {
  TempDir temp;
  auto journal = open_journal(temp.path() / "journal.sqlite");
  REQUIRE(journal->append("review", "server", "a", "", {{"verdict", "fail"}}).ok());
  REQUIRE(journal->append("review", "server", "a", "", {{"verdict", "warn"}}).ok());
  REQUIRE(journal->append("note", "agent", "a", "prompts done", {{"exhausted_level", "prompt"}}).ok());
  auto review = journal->latest_review("a");
  REQUIRE(review.ok());
  REQUIRE(review->has_value());
  CHECK((*review)->payload["verdict"] == "warn");
  CHECK_FALSE(journal->latest_review("b")->has_value());
  CHECK(*journal->exhausted_levels() == std::set<std::string>{"prompt"});
  CHECK_FALSE(journal->final_test()->has_value());
  REQUIRE(journal->append("final_test", "server", "a", "", {{"mean", 71.5}}).ok());
  CHECK((*journal->final_test())->payload["mean"] == 71.5);
}

TEST_CASE("several connections append concurrently without losing entries") {
  TempDir temp;
  const auto path = temp.path() / "journal.sqlite";
  constexpr int kWriters = 4;
  constexpr int kEach = 25;
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] {
      auto journal = Journal::open(path);
      if (!journal.ok()) return;
      for (int i = 0; i < kEach; ++i) {
        (void)(*journal)->append("note", "writer" + std::to_string(w), "", std::to_string(i),
                                 json::object());
      }
    });
  }
  for (auto& writer : writers) writer.join();
  auto journal = open_journal(path);
  auto all = journal->entries();
  REQUIRE(all.ok());
  CHECK(all->size() == kWriters * kEach);
}

}  // namespace
}  // namespace fapo
