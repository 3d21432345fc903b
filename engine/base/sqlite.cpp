#include "engine/base/sqlite.h"

#include <chrono>
#include <thread>

namespace fapo {
namespace {

constexpr int kBusyTimeoutMs = 30000;

// Switching a new database to WAL needs an exclusive lock, and SQLite reports a competing
// opener as busy at once instead of calling the busy handler: retry within the same bound.
int exec_with_retry(sqlite3* db, const std::string& sql) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kBusyTimeoutMs);
  int result = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr);
  while ((result == SQLITE_BUSY || result == SQLITE_LOCKED) &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    result = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr);
  }
  return result;
}

}  // namespace

Error sqlite_error(sqlite3* db, std::string_view what, const std::filesystem::path& path,
                   std::string_view doing) {
  return make_error(ErrorCode::kIo, std::string(what) + " " + path.string() + ": " +
                                        std::string(doing) + ": " +
                                        (db != nullptr ? sqlite3_errmsg(db) : "out of memory"));
}

Result<sqlite3*> open_sqlite(const std::filesystem::path& path, std::string_view what,
                             std::string_view synchronous, const char* schema) {
  std::error_code ec;
  if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path(), ec);
  if (ec) {
    return make_error(ErrorCode::kIo, std::string(what) + " " + path.string() +
                                          ": cannot create its directory: " + ec.message());
  }
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) !=
      SQLITE_OK) {
    Error error = sqlite_error(db, what, path, "cannot open");
    sqlite3_close(db);
    return error;
  }
  // Another process may hold the write lock for a moment; wait for it rather than fail.
  sqlite3_busy_timeout(db, kBusyTimeoutMs);
  const std::string setup[] = {"PRAGMA journal_mode=WAL;",
                               "PRAGMA synchronous=" + std::string(synchronous) + ";", schema};
  for (const std::string& sql : setup) {
    if (exec_with_retry(db, sql) != SQLITE_OK) {
      Error error = sqlite_error(db, what, path, "cannot prepare the database (" + sql + ")");
      sqlite3_close(db);
      return error;
    }
  }
  return db;
}

}  // namespace fapo
