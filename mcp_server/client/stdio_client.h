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
// The process itself (spawning, fd hygiene, process group, stopping) is a StdioProcess, shared
// with MultiplexedClient. Writes and reads both honour the request's deadline, so a server that
// stops reading cannot hang the caller. A line longer than max_line_bytes fails the request that
// waited for it and the rest of that line is dropped, which keeps later replies in step.
//
// Not thread-safe: one thread owns a client (MultiplexedClient is the thread-safe one). The
// destructor shuts the server down (stdin closed, then SIGTERM and SIGKILL after the grace
// periods) and reaps it, so no zombie is left.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "engine/base/result.h"
#include "mcp_server/client/client_messages.h"
#include "mcp_server/client/line_buffer.h"
#include "mcp_server/client/stdio_process.h"

namespace fapo::mcp {

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

  pid_t pid() const { return process_.pid(); }
  bool running() const { return process_.running(); }

 private:
  StdioClient(StdioClientOptions options, StdioProcess process);

  // Writes one line before `deadline`; a server not reading its input makes it time out.
  Status write_line(const std::string& line, SteadyTime deadline);
  // Reads the next complete line from the server until `deadline`; nullopt on timeout.
  Result<std::optional<std::string>> read_line(SteadyTime deadline);
  // Waits for `fd` like wait_for_fd, ending early when the cancel flag rises.
  Result<int> wait_ready(int fd, short events, SteadyTime deadline);
  StopCheck cancel_check() const;
  // Records why a request failed and returns the error to pass on.
  Error fail(RequestFailure kind, Error error);
  // Handles a message that is not the awaited reply.
  void handle_other(const nlohmann::json& message);

  StdioClientOptions options_;
  StdioProcess process_;
  LineBuffer lines_;
  long long next_id_ = 1;
  NotificationHandler on_notification_;
  const std::atomic<bool>* cancel_ = nullptr;
  RequestFailureDetail failure_;
  std::size_t skipped_lines_ = 0;
};

}  // namespace fapo::mcp
