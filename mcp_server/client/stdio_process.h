// A server program started with its stdin and stdout on pipes: the process half of the MCP
// stdio transport, shared by StdioClient (one request at a time) and MultiplexedClient (many
// in flight on one connection).
//
// Every descriptor is close-on-exec and the child starts with only fds 0-2, so servers started
// from several threads never inherit each other's pipes. Our end of the server's stdin is
// non-blocking: a write that would block waits in poll instead, so a server that stops reading
// cannot make a write outlast its deadline. With own_process_group the server leads a process
// group of its own and SIGTERM/SIGKILL go to the whole group.
//
// Not thread-safe by itself: its owner decides who may touch which descriptor when (see
// MultiplexedClient). The destructor kills and reaps a process still running, so no zombie is
// left whatever path dropped it.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "engine/base/result.h"
#include "mcp_server/client/client_messages.h"

namespace fapo::mcp {

struct StdioClientOptions {
  // argv[0] is the program's path (no PATH lookup), relative to this process's directory.
  std::vector<std::string> argv;
  // The server's whole environment; nullopt: this process's environment.
  std::optional<std::map<std::string, std::string>> env;
  // The server's working directory; empty: this process's.
  std::filesystem::path working_dir;
  // Where the server's stderr goes (appended); empty discards it.
  std::filesystem::path stderr_path;
  // Longest wait for one reply unless a request names its own.
  std::chrono::milliseconds reply_timeout{60'000};
  // After stdin closes, how long the server may take to exit before SIGTERM, and after
  // SIGTERM before SIGKILL.
  std::chrono::milliseconds exit_grace{5'000};
  std::chrono::milliseconds terminate_grace{2'000};
  std::size_t max_line_bytes = 16 * 1024 * 1024;
  // Lines that are not JSON objects (a server printing its log to stdout) are skipped and
  // counted instead of failing the request that waits. (MultiplexedClient always skips them:
  // such a line cannot be blamed on one request.)
  bool skip_non_json_lines = false;
  // Starts the server in a process group of its own, and SIGTERM/SIGKILL go to the whole
  // group: launchers such as npx or a shell script leave no orphaned grandchild behind.
  bool own_process_group = false;
};

using SteadyTime = std::chrono::steady_clock::time_point;
// Asked while a write or a wait blocks: true ends it early (kCancelled).
using StopCheck = std::function<bool()>;

// Waits until `fd` is ready for `events`, the deadline passes or `stop` says so (checked every
// 50 ms; an empty StopCheck is never asked). Returns 1 (ready), 0 (deadline) or an error: code
// kCancelled when stopped, kIo when poll failed.
Result<int> wait_for_fd(int fd, short events, SteadyTime deadline, const StopCheck& stop);

// How a process ended, from its wait status: "exited with status 3", "was killed by signal 9".
std::string describe_wait_status(int status);

// What a write_line did, for callers that must know more than success.
struct WriteReport {
  RequestFailure failure = RequestFailure::kNone;  // kTimeout, kCancelled, kExited or kIo
  std::size_t bytes_written = 0;  // of the line and its newline: a partial line breaks the stream
};

class StdioProcess {
 public:
  // Starts options.argv (its path and stderr_path made absolute first, in `options`, since
  // the child changes directory before it executes). Fails when it cannot be executed or the
  // pipes cannot be made.
  static Result<StdioProcess> start(StdioClientOptions& options);

  StdioProcess() = default;
  StdioProcess(StdioProcess&& other) noexcept;
  StdioProcess& operator=(StdioProcess&& other) noexcept;
  StdioProcess(const StdioProcess&) = delete;
  StdioProcess& operator=(const StdioProcess&) = delete;
  ~StdioProcess();

  pid_t pid() const { return pid_; }         // -1 once reaped
  bool running() const { return pid_ > 0; }  // started and not reaped yet
  int to_server() const { return to_server_; }
  int from_server() const { return from_server_; }
  // Its exit status once reaped, or -1 (a signal ended it, or it still runs).
  int exit_status() const { return exit_status_; }

  // Writes `line` and a newline before `deadline`. A server that died makes the write fail
  // (kExited) without SIGPIPE ending this process.
  Status write_line(const std::string& line, SteadyTime deadline, const StopCheck& stop,
                    WriteReport& report);

  // Waits up to `grace` for the process to end and reaps it. Returns its wait status, or
  // nullopt when it still runs (or was reaped before).
  std::optional<int> reap_within(std::chrono::milliseconds grace);
  // How the process ended ("exited with status 7") if it has, without reaping it and without
  // waiting: for a thread that must leave reaping to the owner.
  std::optional<std::string> peek_exit() const;

  // Closes our ends of both pipes without waiting: the server's stdin sees end of file, the
  // stdio transport's signal to exit, and a server still writing gets EPIPE instead of
  // blocking on a full pipe.
  void close_pipes();
  // Closes the pipes, waits up to `exit_grace` for the server to exit, then SIGTERM, then
  // after `terminate_grace` SIGKILL; reaps it. Returns the exit status (-1: a signal ended
  // it). Idempotent.
  int shutdown(std::chrono::milliseconds exit_grace, std::chrono::milliseconds terminate_grace);
  // Closes the pipes, SIGKILLs the server (and its group) and reaps it. Idempotent.
  void kill();

 private:
  StdioProcess(pid_t pid, int to_server, int from_server, bool own_group);
  void signal(int signal_number);
  void note_exit(int status);

  pid_t pid_ = -1;
  int to_server_ = -1;    // the server's stdin
  int from_server_ = -1;  // the server's stdout
  bool own_group_ = false;
  int exit_status_ = -1;
};

}  // namespace fapo::mcp
