#include "engine/journal/journal.h"

#include <algorithm>
#include <chrono>

#include "engine/base/sqlite.h"
#include "engine/base/strings.h"
#include "engine/run/run_id.h"

namespace fapo {
namespace {

using nlohmann::json;

// The triggers make append-only a property of the file, not of fapo's code paths.
const char* const kSchema =
    "CREATE TABLE IF NOT EXISTS entries ("
    "  seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  time TEXT NOT NULL,"
    "  kind TEXT NOT NULL,"
    "  actor TEXT NOT NULL,"
    "  subject TEXT NOT NULL,"
    "  reason TEXT NOT NULL,"
    "  payload TEXT NOT NULL);"
    "CREATE INDEX IF NOT EXISTS entries_by_kind ON entries(kind, seq);"
    "CREATE TRIGGER IF NOT EXISTS entries_no_update BEFORE UPDATE ON entries BEGIN"
    "  SELECT RAISE(ABORT, 'the journal is append-only: entries cannot be changed');"
    "END;"
    "CREATE TRIGGER IF NOT EXISTS entries_no_delete BEFORE DELETE ON entries BEGIN"
    "  SELECT RAISE(ABORT, 'the journal is append-only: entries cannot be deleted');"
    "END;";

const char* const kColumns = "SELECT seq, time, kind, actor, subject, reason, payload FROM entries";

Error sqlite_error(sqlite3* db, const std::filesystem::path& path, std::string_view doing) {
  return fapo::sqlite_error(db, "journal", path, doing);
}

bool is_known_kind(const std::string& kind) {
  return std::find_if(std::begin(kJournalKinds), std::end(kJournalKinds),
                      [&](const char* known) { return kind == known; }) != std::end(kJournalKinds);
}

}  // namespace

json to_json(const JournalEntry& entry) {
  return json{{"seq", entry.seq},         {"time", entry.time},     {"kind", entry.kind},
              {"actor", entry.actor},     {"subject", entry.subject}, {"reason", entry.reason},
              {"payload", entry.payload}};
}

Result<std::unique_ptr<Journal>> Journal::open(const std::filesystem::path& path) {
  // FULL sync: an entry reported as appended survives a power cut (the journal is the record).
  FAPO_ASSIGN_OR_RETURN(sqlite3 * db, open_sqlite(path, "journal", "FULL", kSchema));
  return std::unique_ptr<Journal>(new Journal(path, db));
}

Journal::~Journal() { sqlite3_close(db_); }

Result<std::int64_t> Journal::append(const std::string& kind, const std::string& actor,
                                     const std::string& subject, const std::string& reason,
                                     const json& payload) {
  if (!is_known_kind(kind)) {
    return make_error(ErrorCode::kInvalidInput, "unknown journal entry kind '" + kind + "'");
  }
  if (!payload.is_object()) {
    return make_error(ErrorCode::kInvalidInput, "journal payload must be a JSON object");
  }
  const std::string time = format_timestamp(std::chrono::system_clock::now());
  const std::string text = payload.dump(-1, ' ', false, json::error_handler_t::replace);
  std::lock_guard lock(mutex_);
  SqliteStatement statement(db_,
                      "INSERT INTO entries (time, kind, actor, subject, reason, payload) "
                      "VALUES (?1, ?2, ?3, ?4, ?5, ?6);");
  if (!statement.ok()) return sqlite_error(db_, path_, "cannot append");
  const std::string values[] = {time, kind, actor, subject, reason, text};
  for (int i = 0; i < 6; ++i) statement.bind(i + 1, values[i]);
  if (sqlite3_step(statement.get()) != SQLITE_DONE) return sqlite_error(db_, path_, "cannot append");
  return static_cast<std::int64_t>(sqlite3_last_insert_rowid(db_));
}

Result<std::vector<JournalEntry>> Journal::query(const std::string& where,
                                                 const std::vector<std::string>& arguments) const {
  std::lock_guard lock(mutex_);
  SqliteStatement statement(db_, std::string(kColumns) + " WHERE " + where + ";");
  if (!statement.ok()) return sqlite_error(db_, path_, "cannot read");
  for (std::size_t i = 0; i < arguments.size(); ++i) {
    statement.bind(static_cast<int>(i + 1), arguments[i]);
  }
  std::vector<JournalEntry> out;
  int rc = SQLITE_ROW;
  while ((rc = sqlite3_step(statement.get())) == SQLITE_ROW) {
    JournalEntry entry;
    entry.seq = sqlite3_column_int64(statement.get(), 0);
    entry.time = statement.text(1);
    entry.kind = statement.text(2);
    entry.actor = statement.text(3);
    entry.subject = statement.text(4);
    entry.reason = statement.text(5);
    entry.payload = json::parse(statement.text(6), nullptr, /*allow_exceptions=*/false);
    if (entry.payload.is_discarded()) entry.payload = json::object();
    out.push_back(std::move(entry));
  }
  if (rc != SQLITE_DONE) return sqlite_error(db_, path_, "cannot read");
  return out;
}

Result<std::optional<JournalEntry>> Journal::latest(const std::string& where,
                                                    const std::vector<std::string>& arguments) const {
  FAPO_ASSIGN_OR_RETURN(std::vector<JournalEntry> found,
                        query(where + " ORDER BY seq DESC LIMIT 1", arguments));
  if (found.empty()) return std::optional<JournalEntry>();
  return std::optional<JournalEntry>(std::move(found.front()));
}

Result<std::vector<JournalEntry>> Journal::entries(const std::optional<std::string>& kind) const {
  if (kind) return query("kind = ?1 ORDER BY seq", {*kind});
  return query("1 ORDER BY seq", {});
}

Result<std::string> Journal::best_variant_id(const std::string& baseline_id) const {
  FAPO_ASSIGN_OR_RETURN(
      auto accepted,
      latest("kind = 'decision' AND json_extract(payload, '$.accepted') = 1", {}));
  if (!accepted) return baseline_id;
  return accepted->payload.value("candidate", baseline_id);
}

Result<std::optional<JournalEntry>> Journal::latest_review(const std::string& variant_id) const {
  return latest("kind = 'review' AND subject = ?1", {variant_id});
}

Result<std::optional<JournalEntry>> Journal::latest_decision(const std::string& variant_id) const {
  return latest("kind = 'decision' AND json_extract(payload, '$.candidate') = ?1", {variant_id});
}

Result<std::set<std::string>> Journal::exhausted_levels() const {
  FAPO_ASSIGN_OR_RETURN(std::vector<JournalEntry> found, notes());
  std::set<std::string> levels;
  for (const JournalEntry& note : found) {
    auto level = note.payload.find("exhausted_level");
    if (level != note.payload.end() && level->is_string()) levels.insert(level->get<std::string>());
  }
  return levels;
}

Result<std::optional<JournalEntry>> Journal::final_test() const {
  return latest("kind = 'final_test'", {});
}

}  // namespace fapo
