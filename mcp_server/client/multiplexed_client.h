// A thread-safe MCP client over stdio for a server that many callers share at once: requests
// from any number of threads are in flight together on one connection, and each reply is
// matched to its caller by id, as JSON-RPC allows. The process half (spawning, environment,
// fd hygiene, process group, stopping) is the StdioProcess that StdioClient uses too.
//
// One reader thread reads the server's stdout and hands each reply to the caller waiting for
// it (a condition variable per request). Writes take turns, one line at a time, each bounded
// by its caller's deadline (the wait for the turn too), so a server that stops reading its
// input makes calls time out instead of hanging. Notifications go to the handler (called on
// the reader thread); requests the server sends are answered "method not found"; lines that
// are not JSON objects are skipped and counted. A line longer than max_line_bytes fails the
// request it answers when its top-level id can be read (wherever the id sits in the line) and
// is otherwise dropped; the stream stays in step either way.
//
// A caller whose timeout passes (or whose cancel flag rises) stops waiting, tells the server
// with notifications/cancelled, and the late reply is dropped when it comes. The process is
// not stopped for that, since other calls are in flight: consecutive_timeouts() lets the owner
// decide when the server is hung. When the process exits, a pipe breaks or a write is cut off
// half way, every waiting call fails at once (kExited) and the client stays dead: alive()
// turns false and the owner starts a new client.
//
// Thread safety: every member may be called from any thread, including kill() and shutdown()
// while calls wait (they fail at once). The destructor must not overlap a call; it stops the
// reader thread, closes stdin, stops the process group (SIGTERM, then SIGKILL) and reaps it:
// no thread, fd or zombie is left.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "engine/base/result.h"
#include "mcp_server/client/client_messages.h"
#include "mcp_server/client/line_buffer.h"
#include "mcp_server/client/stdio_process.h"

namespace fapo::mcp {

class MultiplexedClient {
 public:
  using NotificationHandler = std::function<void(const nlohmann::json& message)>;

  // Starts the program and the reader thread. `on_notification` receives every notification
  // the server sends, on the reader thread; it must not call this client's stopping members.
  static Result<std::unique_ptr<MultiplexedClient>> start(StdioClientOptions options,
                                                          NotificationHandler on_notification = {});

  ~MultiplexedClient();
  MultiplexedClient(const MultiplexedClient&) = delete;
  MultiplexedClient& operator=(const MultiplexedClient&) = delete;

  // Sends a request and waits at most `timeout` (and while *cancel, when given, stays false)
  // for its `result`. On failure `failure` (when given) says why, as StdioClient's
  // last_failure() does: kRpcError with the server's code and message, kTimeout, kCancelled,
  // kExited (the process is gone: every call fails so), kLineTooLong.
  Result<nlohmann::json> request(const std::string& method, nlohmann::json params,
                                 std::chrono::milliseconds timeout,
                                 const std::atomic<bool>* cancel = nullptr,
                                 RequestFailureDetail* failure = nullptr);
  Status notify(const std::string& method, nlohmann::json params = nullptr);

  // initialize followed by notifications/initialized; returns the initialize result.
  Result<nlohmann::json> initialize(const std::string& client_name,
                                    const std::string& client_version,
                                    const std::string& protocol_version,
                                    std::chrono::milliseconds timeout);
  // tools/list through every page, all within `timeout`.
  Result<std::vector<nlohmann::json>> list_tools(std::chrono::milliseconds timeout);
  Result<ToolCallResult> call_tool(const std::string& name, const nlohmann::json& arguments,
                                   std::chrono::milliseconds timeout,
                                   const std::atomic<bool>* cancel = nullptr,
                                   RequestFailureDetail* failure = nullptr);

  // False once the process exited, a pipe broke or the client was stopped.
  bool alive() const;
  // Why it is no longer alive ("the MCP server closed its output and exited with status 7");
  // empty while alive.
  std::string death_reason() const;
  // Calls that timed out since the server last sent a reply (a reply too late for its
  // caller counts: the server still answers).
  int consecutive_timeouts() const;
  std::size_t in_flight() const;        // requests waiting for their reply
  std::size_t skipped_lines() const;    // lines that were not JSON objects
  std::size_t dropped_replies() const;  // replies nobody waited for (late, or unknown ids)
  pid_t pid() const { return pid_; }    // the process's id, also after it ended

  // Stops the reader, fails waiting calls and closes the server's stdin without waiting for
  // it to exit: lets an owner stopping many servers overlap their exits.
  void close_input();
  // close_input, then waits for the server to exit (escalating to SIGTERM, then SIGKILL) and
  // reaps it. Returns its exit status, or -1 when a signal ended it. Idempotent.
  int shutdown();
  // Kills the server (SIGKILL to its group) and reaps it; waiting calls fail with `reason`.
  void kill(const std::string& reason = "the MCP server was killed");

 private:
  struct Pending;

  MultiplexedClient(StdioClientOptions options, NotificationHandler on_notification,
                    StdioProcess process, int wake_fd);

  // The reader thread: lines in, replies routed, until end of file or stop.
  void read_replies();
  void read_until_closed();
  void handle_line(const std::string& line);
  // Hands `reply` (or, without one, the failure) to the caller waiting for `id`.
  void deliver(const nlohmann::json& id, nlohmann::json reply, RequestFailure failure);
  // " and exited with status 7" once the process is seen to have ended (waits briefly).
  std::string exit_suffix();

  // Writes one line under the write lock. A write that breaks the stream kills the connection
  // (failure kExited); kTimeout and kCancelled leave it intact.
  Status send(const std::string& line, SteadyTime deadline, const std::atomic<bool>* cancel,
              RequestFailure& failure);
  Status write_in_turn(const std::string& line, SteadyTime deadline,
                       const std::atomic<bool>* cancel, RequestFailure& failure);
  // The right to write, one holder at a time. take_write_turn waits no longer than `deadline`
  // or a raised cancel flag and fails once the client is dead; a stopper passes no deadline.
  Status take_write_turn(std::optional<SteadyTime> deadline, const std::atomic<bool>* cancel,
                         RequestFailure& failure);
  void end_write_turn();
  // Waits for the reply to `id` until it comes, `deadline` passes or *cancel rises.
  Result<nlohmann::json> await_reply(long long id, const std::shared_ptr<Pending>& pending,
                                     const std::string& method, std::chrono::milliseconds timeout,
                                     SteadyTime deadline, const std::atomic<bool>* cancel,
                                     RequestFailureDetail& failure);
  // Fails every waiting call with `reason` and turns the client dead (first reason wins).
  void mark_dead(const std::string& reason);
  // Joins the reader thread (once) and marks the client dead with `reason`.
  void stop_reader(const std::string& reason);

  const StdioClientOptions options_;
  const NotificationHandler on_notification_;
  const pid_t pid_;

  // The process's pipes are read by the reader thread, written by the holder of the write
  // turn, and closed or reaped only after the reader stopped and by the holder of the turn.
  StdioProcess process_;
  int wake_fd_ = -1;  // eventfd: its readiness tells the reader to stop
  std::thread reader_;
  std::atomic<std::thread::id> reader_id_{};  // set by the reader thread when it starts
  std::atomic<bool> stopping_{false};

  mutable std::mutex mutex_;  // guards the members below
  std::condition_variable died_;
  // One line at a time on the server's stdin. A flag rather than a held mutex, so that waiting
  // for the turn can honour each caller's deadline and cancel flag.
  bool writing_ = false;
  std::condition_variable write_turn_free_;
  std::map<long long, std::shared_ptr<Pending>> pending_;
  long long next_id_ = 1;
  bool dead_ = false;
  std::string death_reason_;
  int consecutive_timeouts_ = 0;
  std::size_t skipped_lines_ = 0;
  std::size_t dropped_replies_ = 0;

  std::mutex stop_mutex_;  // serialises close_input, shutdown and kill
};

}  // namespace fapo::mcp
