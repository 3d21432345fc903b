// The few SQLite helpers the engine's databases (the journal, the response cache) share:
// opening a file in WAL mode with a busy timeout and a schema, a prepared statement owned for one
// query, and error messages that name the database and what failed. A connection is used by one
// thread at a time (callers hold their own mutex); the helpers keep no state.
#pragma once

#include <sqlite3.h>

#include <filesystem>
#include <string>
#include <string_view>

#include "engine/base/result.h"

namespace fapo {

// kIo "<what> <path>: <doing>: <SQLite's message>". `what` names the database ("journal").
Error sqlite_error(sqlite3* db, std::string_view what, const std::filesystem::path& path,
                   std::string_view doing);

// Opens or creates `path` (and its directory), waits up to 30 s for other writers, switches to
// WAL with the given `synchronous` level ("NORMAL" or "FULL") and runs `schema`. On failure the
// connection is closed and the error says which step failed.
Result<sqlite3*> open_sqlite(const std::filesystem::path& path, std::string_view what,
                             std::string_view synchronous, const char* schema);

// A prepared statement, finalized when it goes out of scope. ok() is false when preparing
// failed (sqlite3_errmsg of the connection says why).
class SqliteStatement {
 public:
  SqliteStatement(sqlite3* db, const std::string& sql) {
    sqlite3_prepare_v2(db, sql.c_str(), -1, &statement_, nullptr);
  }
  ~SqliteStatement() { sqlite3_finalize(statement_); }
  SqliteStatement(const SqliteStatement&) = delete;
  SqliteStatement& operator=(const SqliteStatement&) = delete;

  sqlite3_stmt* get() const { return statement_; }
  bool ok() const { return statement_ != nullptr; }
  void bind(int index, const std::string& text) {
    sqlite3_bind_text(statement_, index, text.data(), static_cast<int>(text.size()),
                      SQLITE_TRANSIENT);
  }
  std::string text(int column) const {
    const auto* data = reinterpret_cast<const char*>(sqlite3_column_text(statement_, column));
    return data ? std::string(data, static_cast<std::size_t>(sqlite3_column_bytes(statement_, column)))
                : std::string();
  }

 private:
  sqlite3_stmt* statement_ = nullptr;
};

}  // namespace fapo
