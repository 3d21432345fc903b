// Helpers shared by the test binaries: private temporary directories and paths to the source
// tree and the built `fapo` binary.
#pragma once

#include <filesystem>
#include <string>

namespace fapo::testing {

// A fresh directory under the system temp dir, removed when the object dies.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

std::filesystem::path source_dir();  // repository root
std::filesystem::path fapo_binary();  // the built executable

// Writes `content` to `path`, creating parent directories.
void write_text(const std::filesystem::path& path, const std::string& content);
std::string read_text(const std::filesystem::path& path);

}  // namespace fapo::testing
