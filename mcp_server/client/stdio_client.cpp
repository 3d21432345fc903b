#include "mcp_server/client/stdio_client.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

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

// posix_spawn with the pipes on fds 0 and 1 and stderr sent to a file; the child starts with
// no blocked signals and the default SIGPIPE action, whatever this process uses.
Result<pid_t> spawn(const StdioClientOptions& options, int child_in, int child_out) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, child_in, STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&actions, child_out, STDOUT_FILENO);
  std::string err_path = options.stderr_path.empty() ? "/dev/null" : options.stderr_path.string();
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, err_path.c_str(),
                                   O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  sigset_t none;
  sigset_t pipe_only;
  sigemptyset(&none);
  sigemptyset(&pipe_only);
  sigaddset(&pipe_only, SIGPIPE);
  posix_spawnattr_setsigmask(&attributes, &none);
  posix_spawnattr_setsigdefault(&attributes, &pipe_only);
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

  std::vector<char*> args;
  for (const std::string& arg : options.argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  int rc = posix_spawn(&pid, args[0], &actions, &attributes, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  if (rc != 0) {
    return make_error(ErrorCode::kIo, "cannot start " + options.argv[0] + ": " +
                                          std::strerror(rc));
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

}  // namespace

Result<std::unique_ptr<StdioClient>> StdioClient::start(StdioClientOptions options) {
  if (options.argv.empty()) {
    return make_error(ErrorCode::kInvalidInput, "no program given to start as an MCP server");
  }
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

// A server that died makes write() fail with EPIPE and raise SIGPIPE, which would end this
// process. SIGPIPE is blocked in this thread for the write and a SIGPIPE it raised is
// consumed, so the failure comes back as an error without touching process-wide settings.
Status StdioClient::write_line(const std::string& line) {
  if (to_server_ < 0) return make_error(ErrorCode::kIo, "the MCP server's input is closed");
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
  while (written < data.size()) {
    ssize_t n = ::write(to_server_, data.data() + written, data.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      failure = errno;
      break;
    }
    written += static_cast<std::size_t>(n);
  }
  if (failure == EPIPE && !was_pending) {
    timespec zero{0, 0};
    sigtimedwait(&pipe_set, nullptr, &zero);
  }
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  if (failure != 0) {
    errno = failure;
    return io_error("cannot write to the MCP server (did it exit?)");
  }
  return ok_status();
}

Result<std::optional<std::string>> StdioClient::read_line(Clock::time_point deadline) {
  while (true) {
    if (std::size_t end = buffer_.find('\n'); end != std::string::npos) {
      std::string line = buffer_.substr(0, end);
      buffer_.erase(0, end + 1);
      if (!line.empty() && line.back() == '\r') line.pop_back();
      return std::optional<std::string>(std::move(line));
    }
    if (buffer_.size() > options_.max_line_bytes) {
      return make_error(ErrorCode::kIo, "the MCP server sent a line longer than " +
                                            std::to_string(options_.max_line_bytes) + " bytes");
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return std::optional<std::string>();
    pollfd fd{from_server_, POLLIN, 0};
    int ready = ::poll(&fd, 1, static_cast<int>(std::min<long long>(left.count(), 1'000'000)));
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) return io_error("cannot wait for the MCP server");
    if (ready == 0) continue;
    char chunk[65536];
    ssize_t n = ::read(from_server_, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return io_error("cannot read from the MCP server");
    if (n == 0) {
      std::string why = "the MCP server closed its output";
      // The pipe closes a moment before the process becomes waitable; give it that moment.
      int status = 0;
      if (pid_ > 0 && wait_for_exit(std::chrono::milliseconds(1000), status)) {
        exit_status_ = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        pid_ = -1;
        why += " and " + describe_status(status);
      }
      return make_error(ErrorCode::kIo, why);
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
    (void)write_line(reply.dump());
    return;
  }
  if (message.contains("method") && on_notification_) on_notification_(message);
  // Anything else is a reply to a request that timed out earlier: nobody waits for it.
}

Result<json> StdioClient::request(const std::string& method, json params,
                                  std::optional<std::chrono::milliseconds> timeout) {
  long long id = next_id_++;
  json message{{"jsonrpc", "2.0"}, {"id", id}, {"method", method}};
  if (!params.is_null()) message["params"] = std::move(params);
  FAPO_RETURN_IF_ERROR(write_line(message.dump()));
  auto wait = timeout.value_or(options_.reply_timeout);
  auto deadline = Clock::now() + wait;
  while (true) {
    auto line = read_line(deadline);
    if (!line.ok()) return line.error().with_context("waiting for the reply to " + method);
    if (!line->has_value()) {
      return make_error(ErrorCode::kIo, "the MCP server did not answer " + method + " within " +
                                            describe_wait(wait));
    }
    if ((*line)->empty()) continue;
    json reply = json::parse(**line, nullptr, /*allow_exceptions=*/false);
    if (reply.is_discarded() || !reply.is_object()) {
      return make_error(ErrorCode::kIo, "the MCP server wrote a line that is not a JSON object: " +
                                            (*line)->substr(0, 200));
    }
    if (!reply.contains("id") || reply.contains("method") || reply["id"] != json(id)) {
      handle_other(reply);
      continue;
    }
    if (reply.contains("error")) {
      const json& error = reply["error"];
      return make_error(ErrorCode::kInvalidInput,
                        "the MCP server answered " + method + " with error " +
                            error.value("code", json(0)).dump() + ": " +
                            error.value("message", std::string("(no message)")));
    }
    return reply.value("result", json::object());
  }
}

Status StdioClient::notify(const std::string& method, json params) {
  json message{{"jsonrpc", "2.0"}, {"method", method}};
  if (!params.is_null()) message["params"] = std::move(params);
  return write_line(message.dump());
}

Result<json> StdioClient::initialize(const std::string& client_name,
                                     const std::string& client_version,
                                     const std::string& protocol_version) {
  json params{{"protocolVersion", protocol_version},
              {"capabilities", json::object()},
              {"clientInfo", {{"name", client_name}, {"version", client_version}}}};
  FAPO_ASSIGN_OR_RETURN(json result, request("initialize", std::move(params)));
  FAPO_RETURN_IF_ERROR(notify("notifications/initialized"));
  return result;
}

Result<std::vector<json>> StdioClient::list_tools() {
  std::vector<json> tools;
  json params = nullptr;
  // A server that keeps handing out cursors is broken; stop rather than loop for ever.
  for (int page = 0; page < 100; ++page) {
    FAPO_ASSIGN_OR_RETURN(json result, request("tools/list", params));
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
      if (block.value("type", "") != "text") continue;
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

int StdioClient::shutdown() {
  // EOF on stdin is the stdio transport's signal to exit. Our read end closes too, so a server
  // still writing (progress, late replies) gets EPIPE instead of blocking on a full pipe.
  close_fd(to_server_);
  close_fd(from_server_);
  if (pid_ > 0) {
    int status = 0;
    if (!wait_for_exit(options_.exit_grace, status)) {
      ::kill(pid_, SIGTERM);
      if (!wait_for_exit(options_.terminate_grace, status)) {
        ::kill(pid_, SIGKILL);
        while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
        }
      }
    }
    exit_status_ = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    pid_ = -1;
  }
  return exit_status_;
}

}  // namespace fapo::mcp
