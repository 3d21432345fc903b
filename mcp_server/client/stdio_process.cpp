#include "mcp_server/client/stdio_process.h"

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
#include <utility>

extern char** environ;

namespace fapo::mcp {
namespace {

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

// Paths are made absolute before the spawn: the child changes directory before it executes
// the program, and relative names must keep meaning what the caller meant.
void make_paths_absolute(StdioClientOptions& options) {
  std::error_code ignored;
  options.argv[0] = std::filesystem::absolute(options.argv[0], ignored).string();
  if (!options.stderr_path.empty()) {
    options.stderr_path = std::filesystem::absolute(options.stderr_path, ignored);
  }
}

// Blocks SIGPIPE in this thread for the lifetime of the guard and consumes a SIGPIPE the
// guarded writes raised, so a write to a dead server fails with EPIPE instead of ending this
// process, without touching process-wide signal settings.
class SigpipeGuard {
 public:
  SigpipeGuard() {
    sigemptyset(&pipe_set_);
    sigaddset(&pipe_set_, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set_, &previous_);
    sigset_t pending;
    sigpending(&pending);
    was_pending_ = sigismember(&pending, SIGPIPE) == 1;
  }
  ~SigpipeGuard() {
    if (raised_ && !was_pending_) {
      timespec zero{0, 0};
      sigtimedwait(&pipe_set_, nullptr, &zero);
    }
    pthread_sigmask(SIG_SETMASK, &previous_, nullptr);
  }
  SigpipeGuard(const SigpipeGuard&) = delete;
  SigpipeGuard& operator=(const SigpipeGuard&) = delete;
  void note_epipe() { raised_ = true; }

 private:
  sigset_t pipe_set_;
  sigset_t previous_;
  bool was_pending_ = false;
  bool raised_ = false;
};

}  // namespace

Result<int> wait_for_fd(int fd, short events, SteadyTime deadline, const StopCheck& stop) {
  while (true) {
    if (stop && stop()) {
      return make_error(ErrorCode::kCancelled, "cancelled while waiting for the MCP server");
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return 0;
    // With a stop check the wait is sliced so a raised flag is seen within 50 ms.
    long long slice = std::min<long long>(left.count(), stop ? 50 : 1'000'000);
    pollfd entry{fd, events, 0};
    int ready = ::poll(&entry, 1, static_cast<int>(slice));
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) return io_error("cannot wait for the MCP server");
    if (ready > 0) return 1;
  }
}

std::string describe_wait_status(int status) {
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return "was killed by signal " + std::to_string(WTERMSIG(status));
  return "stopped";
}

Result<StdioProcess> StdioProcess::start(StdioClientOptions& options) {
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
  ::fcntl(in_pipe[1], F_SETFL, ::fcntl(in_pipe[1], F_GETFL) | O_NONBLOCK);
  auto pid = spawn(options, in_pipe[0], out_pipe[1]);
  ::close(in_pipe[0]);
  ::close(out_pipe[1]);
  if (!pid.ok()) {
    ::close(in_pipe[1]);
    ::close(out_pipe[0]);
    return pid.error();
  }
  return StdioProcess(*pid, in_pipe[1], out_pipe[0], options.own_process_group);
}

StdioProcess::StdioProcess(pid_t pid, int to_server, int from_server, bool own_group)
    : pid_(pid), to_server_(to_server), from_server_(from_server), own_group_(own_group) {}

StdioProcess::StdioProcess(StdioProcess&& other) noexcept { *this = std::move(other); }

StdioProcess& StdioProcess::operator=(StdioProcess&& other) noexcept {
  if (this == &other) return *this;
  kill();  // what this object held before must not be left running
  pid_ = std::exchange(other.pid_, -1);
  to_server_ = std::exchange(other.to_server_, -1);
  from_server_ = std::exchange(other.from_server_, -1);
  own_group_ = other.own_group_;
  exit_status_ = other.exit_status_;
  return *this;
}

StdioProcess::~StdioProcess() { kill(); }

Status StdioProcess::write_line(const std::string& line, SteadyTime deadline, const StopCheck& stop,
                                WriteReport& report) {
  report = {};
  if (to_server_ < 0) {
    report.failure = RequestFailure::kExited;
    return make_error(ErrorCode::kIo, "the MCP server's input is closed");
  }
  SigpipeGuard guard;
  std::string data = line + "\n";
  while (report.bytes_written < data.size()) {
    ssize_t n =
        ::write(to_server_, data.data() + report.bytes_written, data.size() - report.bytes_written);
    if (n >= 0) {
      report.bytes_written += static_cast<std::size_t>(n);
      continue;
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) {
      int failure = errno;
      if (failure == EPIPE) guard.note_epipe();
      report.failure = failure == EPIPE ? RequestFailure::kExited : RequestFailure::kIo;
      errno = failure;
      return io_error("cannot write to the MCP server (did it exit?)");
    }
    auto ready = wait_for_fd(to_server_, POLLOUT, deadline, stop);
    if (!ready.ok()) {
      report.failure = ready.error().code == ErrorCode::kCancelled ? RequestFailure::kCancelled
                                                                   : RequestFailure::kIo;
      return ready.error();
    }
    if (*ready == 0) {
      report.failure = RequestFailure::kTimeout;
      return make_error(ErrorCode::kIo, "the MCP server stopped reading its input");
    }
  }
  return ok_status();
}

std::optional<int> StdioProcess::reap_within(std::chrono::milliseconds grace) {
  if (pid_ <= 0) return std::nullopt;
  auto deadline = Clock::now() + grace;
  while (true) {
    int status = 0;
    pid_t done = ::waitpid(pid_, &status, WNOHANG);
    if (done == pid_ || (done < 0 && errno == ECHILD)) {
      note_exit(status);
      return status;
    }
    if (Clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

std::optional<std::string> StdioProcess::peek_exit() const {
  if (pid_ <= 0) return std::nullopt;
  siginfo_t info{};
  // WNOWAIT leaves the process waitable: the owner still reaps it.
  if (::waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOHANG | WNOWAIT) != 0 ||
      info.si_pid != pid_) {
    return std::nullopt;
  }
  if (info.si_code == CLD_EXITED) return "exited with status " + std::to_string(info.si_status);
  return "was killed by signal " + std::to_string(info.si_status);
}

void StdioProcess::note_exit(int status) {
  exit_status_ = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  pid_ = -1;
}

void StdioProcess::close_pipes() {
  close_fd(to_server_);
  close_fd(from_server_);
}

void StdioProcess::signal(int signal_number) {
  if (pid_ <= 0) return;
  // The group id is the server's pid; fall back to the process if the group is gone.
  if (own_group_ && ::kill(-pid_, signal_number) == 0) return;
  ::kill(pid_, signal_number);
}

int StdioProcess::shutdown(std::chrono::milliseconds exit_grace,
                           std::chrono::milliseconds terminate_grace) {
  close_pipes();
  if (pid_ > 0 && !reap_within(exit_grace)) {
    signal(SIGTERM);
    if (!reap_within(terminate_grace)) kill();
  }
  return exit_status_;
}

void StdioProcess::kill() {
  close_pipes();
  if (pid_ <= 0) return;
  signal(SIGKILL);
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  note_exit(status);
}

}  // namespace fapo::mcp
