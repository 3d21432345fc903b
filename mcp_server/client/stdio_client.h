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
// Not thread-safe: one thread owns a client. The destructor shuts the server down (stdin
// closed, then SIGTERM and SIGKILL after the grace periods) and reaps it, so no zombie is left.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/base/result.h"

namespace fapo::mcp {

struct StdioClientOptions {
  std::vector<std::string> argv;  // argv[0] is the program's path (no PATH lookup)
  // Where the server's stderr goes (appended); empty discards it.
  std::filesystem::path stderr_path;
  // Longest wait for one reply unless a request names its own.
  std::chrono::milliseconds reply_timeout{60'000};
  // After stdin closes, how long the server may take to exit before SIGTERM, and after
  // SIGTERM before SIGKILL.
  std::chrono::milliseconds exit_grace{5'000};
  std::chrono::milliseconds terminate_grace{2'000};
  std::size_t max_line_bytes = 16 * 1024 * 1024;
};

// The outcome of a tools/call that reached the tool: `is_error` is the tool's own verdict
// (arguments it refused, work it could not do), with `text` saying why.
struct ToolCallResult {
  bool is_error = false;
  std::string text;                 // the text content blocks, joined by newlines
  nlohmann::json structured;        // structuredContent, or null
  nlohmann::json raw;               // the whole result object
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

  // Sends a request and returns its `result`. A JSON-RPC error reply becomes an Error whose
  // message holds the method, the error code and the server's message; no reply within
  // `timeout` (default: options.reply_timeout), a closed pipe or an exited server become kIo.
  Result<nlohmann::json> request(const std::string& method, nlohmann::json params = nullptr,
                                 std::optional<std::chrono::milliseconds> timeout = {});
  Status notify(const std::string& method, nlohmann::json params = nullptr);

  // initialize followed by notifications/initialized; returns the initialize result.
  Result<nlohmann::json> initialize(const std::string& client_name,
                                    const std::string& client_version,
                                    const std::string& protocol_version = "2025-11-25");
  // tools/list, following nextCursor through every page; returns the tool descriptions.
  Result<std::vector<nlohmann::json>> list_tools();
  // tools/call. With a progress token, the server may send notifications/progress for it.
  Result<ToolCallResult> call_tool(const std::string& name, const nlohmann::json& arguments,
                               std::optional<std::string> progress_token = {},
                               std::optional<std::chrono::milliseconds> timeout = {});

  // Closes the server's stdin, waits for it to exit (escalating to SIGTERM, then SIGKILL) and
  // reaps it. Returns its exit status, or -1 when a signal ended it. Idempotent.
  int shutdown();

  pid_t pid() const { return pid_; }
  bool running() const { return pid_ > 0; }

 private:
  StdioClient(StdioClientOptions options, pid_t pid, int to_server, int from_server);

  Status write_line(const std::string& line);
  // Reads the next complete line from the server until `deadline`; nullopt on timeout.
  Result<std::optional<std::string>> read_line(std::chrono::steady_clock::time_point deadline);
  // Handles a message that is not the awaited reply.
  void handle_other(const nlohmann::json& message);
  bool wait_for_exit(std::chrono::milliseconds grace, int& status);

  StdioClientOptions options_;
  pid_t pid_ = -1;
  int to_server_ = -1;    // the server's stdin
  int from_server_ = -1;  // the server's stdout
  std::string buffer_;    // bytes read but not yet split into lines
  long long next_id_ = 1;
  int exit_status_ = -1;
  NotificationHandler on_notification_;
};

}  // namespace fapo::mcp
