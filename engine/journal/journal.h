// The journal: an append-only record of everything that happened in a tenant — proposals,
// reviews, runs, comparisons, decisions, notes, budget events and the final test — with when,
// who and why. It lives in .fapo/<tenant>/journal.sqlite, table
//
//   entries(seq INTEGER PRIMARY KEY AUTOINCREMENT, time TEXT, kind TEXT, actor TEXT,
//           subject TEXT, reason TEXT, payload TEXT /* JSON */)
//
// Append-only is enforced by SQLite itself: triggers abort every UPDATE and DELETE, so not
// even a bug in fapo can rewrite history. The journal is also where derived state comes from:
// the best variant is the candidate of the latest accepted decision (the baseline when there
// is none), a variant's verdict is its latest review, and so on.
//
// Thread safety: one Journal may be used from several threads (calls are serialised by a
// mutex), and several processes may open the same file (WAL mode, busy timeout).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/base/result.h"

struct sqlite3;

namespace fapo {

// The kinds of entry; append refuses any other.
inline constexpr const char* kJournalKinds[] = {"proposal", "review",   "run",    "comparison",
                                                "decision", "note",     "budget", "final_test"};

struct JournalEntry {
  std::int64_t seq = 0;
  std::string time;  // ISO 8601 UTC
  std::string kind;
  std::string actor;    // "agent", "server", "cli", ...
  std::string subject;  // usually a variant id
  std::string reason;
  nlohmann::json payload;
};

nlohmann::json to_json(const JournalEntry& entry);

class Journal {
 public:
  // Opens (creating if needed, with its directory) the journal at `path`.
  static Result<std::unique_ptr<Journal>> open(const std::filesystem::path& path);
  ~Journal();
  Journal(const Journal&) = delete;
  Journal& operator=(const Journal&) = delete;

  // Appends one entry and returns its sequence number. `payload` must be a JSON object.
  Result<std::int64_t> append(const std::string& kind, const std::string& actor,
                              const std::string& subject, const std::string& reason,
                              const nlohmann::json& payload);

  // Entries in order; only those of `kind` when given.
  Result<std::vector<JournalEntry>> entries(const std::optional<std::string>& kind = {}) const;

  // The candidate of the latest decision with accepted = true; `baseline_id` when none.
  Result<std::string> best_variant_id(const std::string& baseline_id) const;
  // The latest review entry of a variant (payload {verdict, findings}), if any.
  Result<std::optional<JournalEntry>> latest_review(const std::string& variant_id) const;
  // The latest decision whose candidate is `variant_id`, if any.
  Result<std::optional<JournalEntry>> latest_decision(const std::string& variant_id) const;
  Result<std::vector<JournalEntry>> decisions() const { return entries("decision"); }
  Result<std::vector<JournalEntry>> notes() const { return entries("note"); }
  // Levels declared exhausted by notes ("prompt", "parameter", "structural").
  Result<std::set<std::string>> exhausted_levels() const;
  // The sealed final test, if one was journaled.
  Result<std::optional<JournalEntry>> final_test() const;

  const std::filesystem::path& path() const { return path_; }

 private:
  Journal(std::filesystem::path path, sqlite3* db) : path_(std::move(path)), db_(db) {}
  Result<std::vector<JournalEntry>> query(const std::string& where,
                                          const std::vector<std::string>& arguments) const;
  Result<std::optional<JournalEntry>> latest(const std::string& where,
                                             const std::vector<std::string>& arguments) const;

  std::filesystem::path path_;
  mutable std::mutex mutex_;  // guards db_
  sqlite3* db_;
};

}  // namespace fapo
