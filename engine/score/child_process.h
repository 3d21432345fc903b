// A long-lived child process spoken to one line at a time over pipes: a request line goes to
// its stdin, a reply line comes back on its stdout, and its stderr is kept in a bounded buffer
// for error messages. Each exchange writes, reads and drains stderr in one poll loop, so large
// requests, large replies and chatty stderr never deadlock either side. The child runs in its
// own process group with close-on-exec pipes; stop() (also run by the destructor) kills what is
// left of the group and reaps the child, so no zombie remains.
//
// Not thread-safe: one owner serialises all calls (CommandScorer holds a mutex).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/base/result.h"

namespace fapo {

class LineProcess {
 public:
  enum class Outcome {
    kLine,         // `line` holds the reply, without its '\n'
    kTimeout,      // no full line before the deadline
    kExited,       // the child closed its stdout or stdin: it exited or is exiting
    kTooLong,      // a line longer than the limit
    kStrayOutput,  // the child printed before this request was sent; `line` holds it
    kIoError,      // a pipe failed; `detail` says how
  };
  struct Reply {
    Outcome outcome = Outcome::kIoError;
    std::string line;
    std::string detail;
  };

  static constexpr std::size_t kMaxLineBytes = 16 * 1024 * 1024;
  static constexpr std::size_t kStderrKeepBytes = 16 * 1024;

  // Starts `argv[0]` (a path: no PATH search) with the other entries as arguments, in
  // `working_dir`, with the environment of this process plus `extra_env` ("NAME=value").
  static Result<std::unique_ptr<LineProcess>> start(const std::vector<std::string>& argv,
                                                    const std::filesystem::path& working_dir,
                                                    const std::vector<std::string>& extra_env);

  ~LineProcess();
  LineProcess(const LineProcess&) = delete;
  LineProcess& operator=(const LineProcess&) = delete;

  // Sends `request` plus '\n' and waits up to `timeout` for one reply line.
  Reply exchange(std::string_view request, std::chrono::milliseconds timeout);

  // Closes stdin, gives the child up to `grace` to exit on its own while collecting the rest of
  // its stderr, then kills its process group and reaps it. Describes how it ended:
  // "exited with status 3", "was killed by signal 11 (Segmentation fault)". Idempotent.
  std::string stop(std::chrono::milliseconds grace);

  pid_t pid() const { return pid_; }
  int lines_read() const { return lines_read_; }
  // False after a reply arrived before the request was fully written: the child's input is
  // out of step and it must be restarted.
  bool reusable() const { return reusable_ && pid_ > 0; }
  // The last `max_lines` non-empty lines the child wrote to stderr.
  std::vector<std::string> stderr_tail(std::size_t max_lines) const;

 private:
  LineProcess() = default;
  // Writes what the pipe takes of `pending` from `written` on; a Reply when the write failed.
  std::optional<Reply> write_some(const std::string& pending, std::size_t& written);
  void drain_stderr();
  bool read_stdout();  // false on end of file
  bool take_line(std::string& line);
  void close_fd(int& fd);

  pid_t pid_ = -1;
  int stdin_fd_ = -1;
  int stdout_fd_ = -1;
  int stderr_fd_ = -1;
  std::string stdout_buffer_;
  std::string stderr_buffer_;
  int lines_read_ = 0;
  bool reusable_ = true;
  std::string exit_description_;
};

}  // namespace fapo
