// File helpers: whole-file reads, atomic writes (temp file + fsync + rename) and an append-only
// line writer. Free functions are thread-safe for distinct paths; AppendFile is not shared
// between threads without external locking.
#pragma once

#include <cstdio>
#include <filesystem>
#include <string>
#include <string_view>

#include "engine/base/result.h"

namespace fapo {

namespace fs = std::filesystem;

Result<std::string> read_file(const fs::path& path);

// Writes to `path.tmp.<unique>` then renames over `path`, so readers see the old or the new
// content, never a torn one. Creates parent directories.
Status write_file_atomic(const fs::path& path, std::string_view content);

// Appends whole lines to a file. Each append is one write(2) of the full line, so a process
// killed mid-run leaves at most one partial trailing line, which readers drop.
class AppendFile {
 public:
  AppendFile() = default;
  ~AppendFile();
  AppendFile(const AppendFile&) = delete;
  AppendFile& operator=(const AppendFile&) = delete;
  AppendFile(AppendFile&& other) noexcept;
  AppendFile& operator=(AppendFile&& other) noexcept;

  static Result<AppendFile> open(const fs::path& path);
  Status append_line(std::string_view line);  // adds the '\n'
  Status sync();                              // fsync: durable across power loss
  bool is_open() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
  fs::path path_;
};

// Truncates a trailing partial line (no final '\n') left by a killed writer. Returns bytes cut.
Result<std::size_t> drop_partial_last_line(const fs::path& path);

// Lowercase hex SHA-256 of bytes / of a file's content.
std::string sha256_hex(std::string_view bytes);
Result<std::string> sha256_file(const fs::path& path);

// True when `path` (after normalisation) lies inside `root`. Used to confine user paths.
bool is_within(const fs::path& root, const fs::path& path);

}  // namespace fapo
