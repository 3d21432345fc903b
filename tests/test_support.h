// Helpers shared by the test binaries: private temporary directories and paths to the source
// tree and the built `fapo` binary.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <ostream>
#include <string>
#include <vector>

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

// Runs a program to completion, capturing stdout and stderr (via files in the temp dir).
struct ProcessResult {
  int exit_code = -1;  // -1 when killed by a signal
  std::string out;
  std::string err;
};
ProcessResult run_process(const std::vector<std::string>& argv);

// Starts a program in the background with stdout/stderr sent to the given files.
pid_t spawn_process(const std::vector<std::string>& argv, const std::filesystem::path& out,
                    const std::filesystem::path& err);

// Copies the repository's tenants/<name> into `workspace`/tenants/<name>.
void copy_tenant(const std::string& name, const std::filesystem::path& workspace);

// Entries of a directory, dot entries aside; -1 when it cannot be read.
int count_entries(const std::string& dir_path);
// The start of a /proc file, or "" when it cannot be read (the process has exited).
std::string read_proc_file(const std::string& path);

// What a process holds: open fds, threads, child processes and, among them, zombies. Read from
// /proc; processes that come and go while it is read are skipped.
struct Census {
  int open_fds = 0;
  int threads = 0;
  int children = 0;
  int zombies = 0;

  bool operator==(const Census&) const = default;
};
std::ostream& operator<<(std::ostream& out, const Census& census);

// The census of `pid` (default: this process, without the descriptor reading the listing).
Census take_census(pid_t pid = 0);

}  // namespace fapo::testing
