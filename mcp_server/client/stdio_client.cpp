#include "mcp_server/client/stdio_client.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <thread>

extern char** environ;

namespace fapo::mcp {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

Error io_error(const std::string& what) {
  return make_error(ErrorCode::kIo, what + ": " + std::strerror(errno));
}

void close_fd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

// Owns the "NAME=value" strings and the null-terminated array posix_spawn wants.
struct Environment {
  std::vector<std::string> entries;
  std::vector<char*> pointers;

  explicit Environment(const std::map<std::string, std::string>& variables) {
    for (const auto& [name, value] : variables) entries.push_back(name + "=" + value);
    for (std::string& entry : entries) pointers.push_back(entry.data());
    pointers.push_back(nullptr);
  }
};

// The child's fds: the pipes on 0 and 1, stderr appended to a file, nothing else (fds from
// other threads' spawns or libraries that forgot O_CLOEXEC must not leak into the server).
void add_file_actions(posix_spawn_file_actions_t& actions, const StdioClientOptions& options,
                      int child_in, int child_out, const std::string& err_path) {
  posix_spawn_file_actions_adddup2(&actions, child_in, STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&actions, child_out, STDOUT_FILENO);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, err_path.c_str(),
                                   O_WRONLY | O_CREAT | O_APPEND, 0644);
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
  posix_spawn_file_actions_addclosefrom_np(&actions, STDERR_FILENO + 1);
#endif
  if (!options.working_dir.empty()) {
    posix_spawn_file_actions_addchdir_np(&actions, options.working_dir.c_str());
  }
}

// posix_spawn with the pipes on fds 0 and 1 and stderr sent to a file; the child starts with
// no blocked signals and the default SIGPIPE action, whatever this process uses.
Result<pid_t> spawn(const StdioClientOptions& options, int child_in, int child_out) {
  std::string err_path = options.stderr_path.empty() ? "/dev/null" : options.stderr_path.string();
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  add_file_actions(actions, options, child_in, child_out, err_path);
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  sigset_t none;
  sigset_t pipe_only;
  sigemptyset(&none);
  sigemptyset(&pipe_only);
  sigaddset(&pipe_only, SIGPIPE);
  posix_spawnattr_setsigmask(&attributes, &none);
  posix_spawnattr_setsigdefault(&attributes, &pipe_only);
  short flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
  if (options.own_process_group) {
    posix_spawnattr_setpgroup(&attributes, 0);  // a new group led by the server
    flags |= POSIX_SPAWN_SETPGROUP;
  }
  posix_spawnattr_setflags(&attributes, flags);

  std::vector<char*> args;
  for (const std::string& arg : options.argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  std::optional<Environment> environment;
  if (options.env) environment.emplace(*options.env);
  char** envp = environment ? environment->pointers.data() : environ;
  pid_t pid = -1;
  int rc = posix_spawn(&pid, args[0], &actions, &attributes, args.data(), envp);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  if (rc != 0) {
    return make_error(ErrorCode::kIo, "cannot start " + options.argv[0] + ": " + std::strerror(rc));
  }
  return pid;
}

std::string describe_status(int status) {
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return "was killed by signal " + std::to_string(WTERMSIG(status));
  return "stopped";
}

std::string describe_wait(std::chrono::milliseconds wait) {
  if (wait.count() % 1000 != 0) return std::to_string(wait.count()) + " ms";
  return std::to_string(wait.count() / 1000) + " s";
}

// Paths are made absolute before the spawn: the child changes directory before it executes
// the program, and relative names must keep meaning what the caller meant.
void make_paths_absolute(StdioClientOptions& options) {
  std::error_code ignored;
  options.argv[0] = std::filesystem::absolute(options.argv[0], ignored).string();
  if (!options.stderr_path.empty()) {
    options.stderr_path = std::filesystem::absolute(options.stderr_path, ignored);
  }
}

}  // namespace

Result<std::unique_ptr<StdioClient>> StdioClient::start(StdioClientOptions options) {
  if (options.argv.empty()) {
    return make_error(ErrorCode::kInvalidInput, "no program given to start as an MCP server");
  }
  make_paths_absolute(options);
  if (::access(options.argv[0].c_str(), X_OK) != 0) {
    return io_error("cannot execute " + options.argv[0]);
  }
  int in_pipe[2];
  int out_pipe[2];
  if (::pipe2(in_pipe, O_CLOEXEC) != 0) return io_error("cannot create a pipe");
  if (::pipe2(out_pipe, O_CLOEXEC) != 0) {
    Error error = io_error("cannot create a pipe");
    ::close(in_pipe[0]);
    ::close(in_pipe[1]);
    return error;
  }
  // Our end of the server's stdin only: a write that would block waits in poll instead, so
  // a server that stops reading cannot make a write outlast its deadline.
  ::fcntl(in_pipe[1], F_SETFL, ::fcntl(in_pipe[1], F_GETFL) | O_NONBLOCK);
  auto pid = spawn(options, in_pipe[0], out_pipe[1]);
  ::close(in_pipe[0]);
  ::close(out_pipe[1]);
  if (!pid.ok()) {
    ::close(in_pipe[1]);
    ::close(out_pipe[0]);
    return pid.error();
  }
  return std::unique_ptr<StdioClient>(
      new StdioClient(std::move(options), *pid, in_pipe[1], out_pipe[0]));
}

StdioClient::StdioClient(StdioClientOptions options, pid_t pid, int to_server, int from_server)
    : options_(std::move(options)), pid_(pid), to_server_(to_server), from_server_(from_server) {}

StdioClient::~StdioClient() { shutdown(); }

void StdioClient::set_notification_handler(NotificationHandler handler) {
  on_notification_ = std::move(handler);
}

Error StdioClient::fail(RequestFailure kind, Error error) {
  failure_ = RequestFailureDetail{kind, 0, ""};
  return error;
}

Result<int> StdioClient::wait_ready(int fd, short events, TimePoint deadline) {
  while (true) {
    if (cancel_ != nullptr && cancel_->load()) {
      return fail(RequestFailure::kCancelled,
                  make_error(ErrorCode::kCancelled, "cancelled while waiting for the MCP server"));
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return 0;
    // With a cancel flag the wait is sliced so a raised flag is seen within 50 ms.
    long long slice = std::min<long long>(left.count(), cancel_ != nullptr ? 50 : 1'000'000);
    pollfd entry{fd, events, 0};
    int ready = ::poll(&entry, 1, static_cast<int>(slice));
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) return fail(RequestFailure::kIo, io_error("cannot wait for the MCP server"));
    if (ready > 0) return 1;
  }
}

// A server that died makes write() fail with EPIPE and raise SIGPIPE, which would end this
// process. SIGPIPE is blocked in this thread for the write and a SIGPIPE it raised is
// consumed, so the failure comes back as an error without touching process-wide settings.
Status StdioClient::write_line(const std::string& line, TimePoint deadline) {
  if (to_server_ < 0) {
    return fail(RequestFailure::kExited,
                make_error(ErrorCode::kIo, "the MCP server's input is closed"));
  }
  sigset_t pipe_set;
  sigset_t previous;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_set, &previous);
  sigset_t pending;
  sigpending(&pending);
  bool was_pending = sigismember(&pending, SIGPIPE) == 1;
  std::string data = line + "\n";
  std::size_t written = 0;
  int failure = 0;
  std::optional<Error> stopped;  // the deadline passed or the wait was cancelled
  while (written < data.size()) {
    ssize_t n = ::write(to_server_, data.data() + written, data.size() - written);
    if (n >= 0) {
      written += static_cast<std::size_t>(n);
      continue;
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) {
      failure = errno;
      break;
    }
    auto ready = wait_ready(to_server_, POLLOUT, deadline);
    if (!ready.ok() || *ready == 0) {
      stopped = ready.ok() ? fail(RequestFailure::kTimeout,
                                  make_error(ErrorCode::kIo,
                                             "the MCP server stopped reading its "
                                             "input"))
                           : ready.error();
      break;
    }
  }
  if (failure == EPIPE && !was_pending) {
    timespec zero{0, 0};
    sigtimedwait(&pipe_set, nullptr, &zero);
  }
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  if (stopped) return *stopped;
  if (failure != 0) {
    errno = failure;
    return fail(failure == EPIPE ? RequestFailure::kExited : RequestFailure::kIo,
                io_error("cannot write to the MCP server (did it exit?)"));
  }
  return ok_status();
}

Result<std::optional<std::string>> StdioClient::read_line(TimePoint deadline) {
  if (from_server_ < 0) {
    return fail(RequestFailure::kExited,
                make_error(ErrorCode::kIo, "the MCP server's output is closed"));
  }
  const std::string too_long = "the MCP server sent a line longer than " +
                               std::to_string(options_.max_line_bytes) + " bytes";
  while (true) {
    if (dropping_line_) {
      std::size_t end = buffer_.find('\n');
      dropping_line_ = end == std::string::npos;
      buffer_.erase(0, dropping_line_ ? buffer_.size() : end + 1);
      scanned_ = 0;
    }
    if (!dropping_line_) {
      if (std::size_t end = buffer_.find('\n', scanned_); end != std::string::npos) {
        std::string line = buffer_.substr(0, end);
        buffer_.erase(0, end + 1);
        scanned_ = 0;
        if (line.size() > options_.max_line_bytes) {
          return fail(RequestFailure::kLineTooLong, make_error(ErrorCode::kIo, too_long));
        }
        if (!line.empty() && line.back() == '\r') line.pop_back();
        return std::optional<std::string>(std::move(line));
      }
      scanned_ = buffer_.size();
      if (buffer_.size() > options_.max_line_bytes) {
        // The rest of the line is dropped as it arrives, so the next line read is whole.
        buffer_.clear();
        scanned_ = 0;
        dropping_line_ = true;
        return fail(RequestFailure::kLineTooLong, make_error(ErrorCode::kIo, too_long));
      }
    }
    auto ready = wait_ready(from_server_, POLLIN, deadline);
    if (!ready.ok()) return ready.error();
    if (*ready == 0) return std::optional<std::string>();
    char chunk[65536];
    ssize_t n = ::read(from_server_, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail(RequestFailure::kIo, io_error("cannot read from the MCP server"));
    if (n == 0) {
      std::string why = "the MCP server closed its output";
      // The pipe closes a moment before the process becomes waitable; give it that moment.
      int status = 0;
      if (pid_ > 0 && wait_for_exit(std::chrono::milliseconds(1000), status)) {
        note_exit(status);
        why += " and " + describe_status(status);
      }
      return fail(RequestFailure::kExited, make_error(ErrorCode::kIo, why));
    }
    buffer_.append(chunk, static_cast<std::size_t>(n));
  }
}

void StdioClient::handle_other(const json& message) {
  bool is_request = message.contains("method") && message.contains("id");
  if (is_request) {
    json reply{{"jsonrpc", "2.0"},
               {"id", message["id"]},
               {"error", {{"code", -32601}, {"message", "this client offers no methods"}}}};
    RequestFailureDetail kept = failure_;
    (void)write_line(reply.dump(), Clock::now() + std::chrono::seconds(1));
    failure_ = kept;
    return;
  }
  if (message.contains("method") && on_notification_) on_notification_(message);
  // Anything else is a reply to a request that timed out earlier: nobody waits for it.
}

Result<json> StdioClient::request(const std::string& method, json params,
                                  std::optional<std::chrono::milliseconds> timeout) {
  failure_ = {};
  long long id = next_id_++;
  json message{{"jsonrpc", "2.0"}, {"id", id}, {"method", method}};
  if (!params.is_null()) message["params"] = std::move(params);
  auto wait = timeout.value_or(options_.reply_timeout);
  auto deadline = Clock::now() + wait;
  if (auto sent = write_line(message.dump(), deadline); !sent.ok()) {
    return sent.error().with_context("sending " + method);
  }
  while (true) {
    auto line = read_line(deadline);
    if (!line.ok() || !line->has_value()) {
      // The server may still be working on it; tell it nobody waits any more.
      RequestFailureDetail kept = failure_;
      json cancelled{{"jsonrpc", "2.0"},
                     {"method", "notifications/cancelled"},
                     {"params", {{"requestId", id}, {"reason", "the client stopped waiting"}}}};
      (void)write_line(cancelled.dump(), Clock::now() + std::chrono::milliseconds(100));
      failure_ = kept;
    }
    if (!line.ok()) return line.error().with_context("waiting for the reply to " + method);
    if (!line->has_value()) {
      return fail(RequestFailure::kTimeout,
                  make_error(ErrorCode::kIo, "the MCP server did not answer " + method +
                                                 " within " + describe_wait(wait)));
    }
    if ((*line)->empty()) continue;
    json reply = json::parse(**line, nullptr, /*allow_exceptions=*/false);
    if (reply.is_discarded() || !reply.is_object()) {
      if (options_.skip_non_json_lines) {
        ++skipped_lines_;
        continue;
      }
      return fail(RequestFailure::kNotJson,
                  make_error(ErrorCode::kIo,
                             "the MCP server wrote a line that is not a JSON "
                             "object: " +
                                 (*line)->substr(0, 200)));
    }
    if (!reply.contains("id") || reply.contains("method") || reply["id"] != json(id)) {
      handle_other(reply);
      continue;
    }
    if (reply.contains("error")) {
      const json& error = reply["error"];
      json code = error.is_object() ? error.value("code", json(0)) : json(0);
      std::string text =
          error.is_object() && error.contains("message") && error["message"].is_string()
              ? error["message"].get<std::string>()
              : std::string("(no message)");
      Error failed = fail(
          RequestFailure::kRpcError,
          make_error(ErrorCode::kInvalidInput, "the MCP server answered " + method +
                                                   " with error " + code.dump() + ": " + text));
      failure_.rpc_code = code.is_number_integer() ? code.get<long long>() : 0;
      failure_.rpc_message = text;
      return failed;
    }
    failure_ = {};
    return reply.value("result", json::object());
  }
}

Status StdioClient::notify(const std::string& method, json params) {
  json message{{"jsonrpc", "2.0"}, {"method", method}};
  if (!params.is_null()) message["params"] = std::move(params);
  return write_line(message.dump(), Clock::now() + options_.reply_timeout);
}

Result<json> StdioClient::initialize(const std::string& client_name,
                                     const std::string& client_version,
                                     const std::string& protocol_version,
                                     std::optional<std::chrono::milliseconds> timeout) {
  json params{{"protocolVersion", protocol_version},
              {"capabilities", json::object()},
              {"clientInfo", {{"name", client_name}, {"version", client_version}}}};
  FAPO_ASSIGN_OR_RETURN(json result, request("initialize", std::move(params), timeout));
  FAPO_RETURN_IF_ERROR(notify("notifications/initialized"));
  return result;
}

Result<std::vector<json>> StdioClient::list_tools(
    std::optional<std::chrono::milliseconds> timeout) {
  auto deadline = Clock::now() + timeout.value_or(options_.reply_timeout);
  std::vector<json> tools;
  json params = nullptr;
  // A server that keeps handing out cursors is broken; stop rather than loop for ever.
  for (int page = 0; page < 100; ++page) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    FAPO_ASSIGN_OR_RETURN(
        json result, request("tools/list", params, std::max(left, std::chrono::milliseconds(1))));
    if (!result.contains("tools") || !result["tools"].is_array()) {
      return make_error(ErrorCode::kIo, "the MCP server's tools/list result has no tools array");
    }
    for (json& tool : result["tools"]) tools.push_back(std::move(tool));
    if (!result.contains("nextCursor") || !result["nextCursor"].is_string()) return tools;
    params = {{"cursor", result["nextCursor"]}};
  }
  return make_error(ErrorCode::kIo, "the MCP server's tools/list did not end after 100 pages");
}

Result<ToolCallResult> StdioClient::call_tool(const std::string& name, const json& arguments,
                                              std::optional<std::string> progress_token,
                                              std::optional<std::chrono::milliseconds> timeout) {
  json params{{"name", name}, {"arguments", arguments}};
  if (progress_token) params["_meta"] = {{"progressToken", *progress_token}};
  FAPO_ASSIGN_OR_RETURN(json result, request("tools/call", std::move(params), timeout));
  ToolCallResult out;
  out.is_error = result.value("isError", false);
  if (result.contains("content") && result["content"].is_array()) {
    for (const json& block : result["content"]) {
      if (!block.is_object() || block.value("type", "") != "text") continue;
      if (!out.text.empty()) out.text += "\n";
      out.text += block.value("text", "");
    }
  }
  out.structured = result.value("structuredContent", json());
  out.raw = std::move(result);
  return out;
}

bool StdioClient::wait_for_exit(std::chrono::milliseconds grace, int& status) {
  auto deadline = Clock::now() + grace;
  while (true) {
    pid_t done = ::waitpid(pid_, &status, WNOHANG);
    if (done == pid_ || (done < 0 && errno == ECHILD)) return true;
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

void StdioClient::note_exit(int status) {
  exit_status_ = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  pid_ = -1;
}

void StdioClient::close_input() {
  // EOF on stdin is the stdio transport's signal to exit. Our read end closes too, so a server
  // still writing (progress, late replies) gets EPIPE instead of blocking on a full pipe.
  close_fd(to_server_);
  close_fd(from_server_);
}

void StdioClient::signal_server(int signal) {
  if (pid_ <= 0) return;
  // The group id is the server's pid; fall back to the process if the group is gone.
  if (options_.own_process_group && ::kill(-pid_, signal) == 0) return;
  ::kill(pid_, signal);
}

int StdioClient::shutdown() {
  close_input();
  if (pid_ > 0) {
    int status = 0;
    if (!wait_for_exit(options_.exit_grace, status)) {
      signal_server(SIGTERM);
      if (!wait_for_exit(options_.terminate_grace, status)) {
        signal_server(SIGKILL);
        while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
        }
      }
    }
    note_exit(status);
  }
  return exit_status_;
}

void StdioClient::kill() {
  close_input();
  if (pid_ <= 0) return;
  signal_server(SIGKILL);
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  note_exit(status);
}

}  // namespace fapo::mcp
