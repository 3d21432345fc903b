// An MCP client over stdio: starts a server program with its stdin and stdout connected to
// pipes and speaks newline-delimited JSON-RPC with it, the way Claude Code or Codex start an
// MCP server. Used by `fapo demo` and by tests that drive the real binary.
//
// Requests are synchronous: request() writes one line and reads until the reply with the same
// id arrives or the deadline passes. Notifications the server sends meanwhile (progress) go to
// the notification handler; requests the server sends are answered "method not found" (this
// client offers no sampling, roots or elicitation); replies to earlier requests that timed out
// are dropped. The server's stderr goes to a log file or /dev/null, never to our stdout.
//
// Every descriptor the client opens is close-on-exec and the child starts with only fds 0-2, so
// servers started from several threads never inherit each other's pipes. Writes and reads both
// honour the request's deadline (the server's stdin is non-blocking on our side), so a server
// that stops reading cannot hang the caller. A line longer than max_line_bytes fails the request
// that waited for it and the rest of that line is dropped, which keeps later replies in step.
//
// Not thread-safe: one thread owns a client. The destructor shuts the server down (stdin
// closed, then SIGTERM and SIGKILL after the grace periods) and reaps it, so no zombie is left.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "engine/base/result.h"

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
  // counted instead of failing the request that waits.
  bool skip_non_json_lines = false;
  // Starts the server in a process group of its own, and SIGTERM/SIGKILL go to the whole
  // group: launchers such as npx or a shell script leave no orphaned grandchild behind.
  bool own_process_group = false;
};

// Why the last request failed, for callers that react differently to each (restart a hung
// server, classify a JSON-RPC error) without reading messages.
enum class RequestFailure {
  kNone,         // the last request succeeded
  kRpcError,     // the server answered with a JSON-RPC error (code and message below)
  kTimeout,      // no reply (or the request could not be sent) before the deadline
  kCancelled,    // the cancel flag was raised while waiting
  kExited,       // the server closed its output or its input: it exited or is exiting
  kLineTooLong,  // a line exceeded max_line_bytes; it is dropped, the stream stays in step
  kNotJson,      // a line that is not a JSON object (when such lines are not skipped)
  kIo,           // the pipes failed otherwise
};

struct RequestFailureDetail {
  RequestFailure kind = RequestFailure::kNone;
  long long rpc_code = 0;   // kRpcError only
  std::string rpc_message;  // kRpcError only
};

// The outcome of a tools/call that reached the tool: `is_error` is the tool's own verdict
// (arguments it refused, work it could not do), with `text` saying why.
struct ToolCallResult {
  bool is_error = false;
  std::string text;           // the text content blocks, joined by newlines
  nlohmann::json structured;  // structuredContent, or null
  nlohmann::json raw;         // the whole result object
};

class StdioClient {
 public:
  using NotificationHandler = std::function<void(const nlohmann::json& message)>;

  // Starts the program. Fails when it cannot be executed or the pipes cannot be made.
  static Result<std::unique_ptr<StdioClient>> start(StdioClientOptions options);

  ~StdioClient();
  StdioClient(const StdioClient&) = delete;
  StdioClient& operator=(const StdioClient&) = delete;

  // Receives every notification the server sends while this client waits for a reply.
  void set_notification_handler(NotificationHandler handler);
  // While set, waits end early (kCancelled) once *cancel is true; the flag must outlive its
  // use. A reply that arrives after a cancelled wait is dropped by the next request.
  void set_cancel_flag(const std::atomic<bool>* cancel) { cancel_ = cancel; }

  // Sends a request and returns its `result`. A JSON-RPC error reply becomes an Error whose
  // message holds the method, the error code and the server's message; no reply within
  // `timeout` (default: options.reply_timeout), a closed pipe or an exited server become kIo.
  Result<nlohmann::json> request(const std::string& method, nlohmann::json params = nullptr,
                                 std::optional<std::chrono::milliseconds> timeout = {});
  Status notify(const std::string& method, nlohmann::json params = nullptr);

  // initialize followed by notifications/initialized; returns the initialize result.
  Result<nlohmann::json> initialize(const std::string& client_name,
                                    const std::string& client_version,
                                    const std::string& protocol_version = "2025-11-25",
                                    std::optional<std::chrono::milliseconds> timeout = {});
  // tools/list, following nextCursor through every page; returns the tool descriptions.
  // `timeout` bounds all the pages together.
  Result<std::vector<nlohmann::json>> list_tools(
      std::optional<std::chrono::milliseconds> timeout = {});
  // tools/call. With a progress token, the server may send notifications/progress for it.
  Result<ToolCallResult> call_tool(const std::string& name, const nlohmann::json& arguments,
                                   std::optional<std::string> progress_token = {},
                                   std::optional<std::chrono::milliseconds> timeout = {});

  // How the last request() (or a call built on it) failed; kind kNone after a success.
  const RequestFailureDetail& last_failure() const { return failure_; }
  // Lines skipped because they were not JSON objects (skip_non_json_lines).
  std::size_t skipped_lines() const { return skipped_lines_; }

  // Closes the server's stdin (and our end of its stdout) without waiting: the stdio
  // transport's signal to exit. Lets a caller stopping many servers overlap their exits.
  void close_input();
  // Closes the server's stdin, waits for it to exit (escalating to SIGTERM, then SIGKILL) and
  // reaps it. Returns its exit status, or -1 when a signal ended it. Idempotent.
  int shutdown();
  // Kills the server at once (SIGKILL) and reaps it: for a server that stopped answering.
  void kill();

  pid_t pid() const { return pid_; }
  bool running() const { return pid_ > 0; }

 private:
  StdioClient(StdioClientOptions options, pid_t pid, int to_server, int from_server);

  using TimePoint = std::chrono::steady_clock::time_point;

  // Writes one line before `deadline`; a server not reading its input makes it time out.
  Status write_line(const std::string& line, TimePoint deadline);
  // Reads the next complete line from the server until `deadline`; nullopt on timeout.
  Result<std::optional<std::string>> read_line(TimePoint deadline);
  // Waits until `fd` is ready for `events`, the deadline passes or the cancel flag rises.
  // Returns 1 (ready), 0 (deadline) or an error (cancelled, poll failed).
  Result<int> wait_ready(int fd, short events, TimePoint deadline);
  // Records why a request failed and returns the error to pass on.
  Error fail(RequestFailure kind, Error error);
  // Handles a message that is not the awaited reply.
  void handle_other(const nlohmann::json& message);
  bool wait_for_exit(std::chrono::milliseconds grace, int& status);
  void note_exit(int status);
  // Sends `signal` to the server (and its process group when it has its own).
  void signal_server(int signal);

  StdioClientOptions options_;
  pid_t pid_ = -1;
  int to_server_ = -1;          // the server's stdin
  int from_server_ = -1;        // the server's stdout
  std::string buffer_;          // bytes read but not yet split into lines
  std::size_t scanned_ = 0;     // buffer_ holds no newline before this offset
  bool dropping_line_ = false;  // skipping the rest of a line that was too long
  long long next_id_ = 1;
  int exit_status_ = -1;
  NotificationHandler on_notification_;
  const std::atomic<bool>* cancel_ = nullptr;
  RequestFailureDetail failure_;
  std::size_t skipped_lines_ = 0;
};

}  // namespace fapo::mcp
