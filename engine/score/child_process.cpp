#include "engine/score/child_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <system_error>
#include <thread>

extern char** environ;

namespace fapo {

namespace {

using Clock = std::chrono::steady_clock;

std::string errno_text(int error) { return std::generic_category().message(error); }

// Blocks SIGPIPE for the calling thread while it writes to a child whose end of the pipe may be
// gone, so the write fails with EPIPE instead of the signal ending the whole server. A SIGPIPE
// raised meanwhile is consumed before the previous mask returns.
class ScopedSigpipeBlock {
 public:
  ScopedSigpipeBlock() {
    sigemptyset(&sigpipe_);
    sigaddset(&sigpipe_, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &sigpipe_, &previous_);
    sigset_t pending;
    sigpending(&pending);
    was_pending_ = sigismember(&pending, SIGPIPE) == 1;
  }
  ~ScopedSigpipeBlock() {
    sigset_t pending;
    sigpending(&pending);
    if (!was_pending_ && sigismember(&pending, SIGPIPE) == 1) {
      timespec no_wait{0, 0};
      sigtimedwait(&sigpipe_, nullptr, &no_wait);
    }
    pthread_sigmask(SIG_SETMASK, &previous_, nullptr);
  }
  ScopedSigpipeBlock(const ScopedSigpipeBlock&) = delete;
  ScopedSigpipeBlock& operator=(const ScopedSigpipeBlock&) = delete;

 private:
  sigset_t sigpipe_;
  sigset_t previous_;
  bool was_pending_ = false;
};

std::string describe_wait_status(int status) {
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    int signal = WTERMSIG(status);
    const char* name = sigdescr_np(signal);
    return "was killed by signal " + std::to_string(signal) +
           (name != nullptr ? " (" + std::string(name) + ")" : "");
  }
  return "ended with wait status " + std::to_string(status);
}

int remaining_ms(Clock::time_point deadline) {
  auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left <= 0 ? 0 : static_cast<int>(std::min<long long>(left, 1 << 30));
}

// The environment of this process with `extra` ("NAME=value") added or replacing entries.
std::vector<std::string> child_environment(const std::vector<std::string>& extra) {
  std::vector<std::string> env;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    std::string_view text(*entry);
    bool replaced = false;
    for (const std::string& item : extra) {
      std::string_view name = std::string_view(item).substr(0, item.find('=') + 1);
      replaced = replaced || text.substr(0, name.size()) == name;
    }
    if (!replaced) env.emplace_back(text);
  }
  env.insert(env.end(), extra.begin(), extra.end());
  return env;
}

std::vector<char*> c_strings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (std::string& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

// The parent's ends of the three pipes, or errors; closes everything it opened on failure.
struct Pipes {
  std::array<int, 6> fds{-1, -1, -1, -1, -1, -1};  // stdin r/w, stdout r/w, stderr r/w
  ~Pipes() {
    for (int fd : fds) {
      if (fd >= 0) ::close(fd);
    }
  }
  Status open() {
    for (int i = 0; i < 3; ++i) {
      // O_CLOEXEC: a child started by another thread at the same time must not inherit them.
      if (::pipe2(&fds[2 * i], O_CLOEXEC) != 0) {
        return make_error(ErrorCode::kIo, "cannot create a pipe: " + errno_text(errno));
      }
    }
    return ok_status();
  }
  int take(int index) { return std::exchange(fds[index], -1); }
};

// posix_spawn's file actions and attributes: the pipes as stdin, stdout and stderr, the working
// directory, a process group of its own (so a timeout can also kill helpers the program
// started), and default signal handling whatever this process has set for itself.
struct SpawnSetup {
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attributes;

  SpawnSetup(const Pipes& pipes, const std::filesystem::path& working_dir) {
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, pipes.fds[0], STDIN_FILENO);
    posix_spawn_file_actions_adddup2(&actions, pipes.fds[3], STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&actions, pipes.fds[5], STDERR_FILENO);
    posix_spawn_file_actions_addchdir_np(&actions, working_dir.c_str());
    posix_spawnattr_init(&attributes);
    posix_spawnattr_setflags(
        &attributes, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    posix_spawnattr_setpgroup(&attributes, 0);
    sigset_t signals;
    sigemptyset(&signals);
    posix_spawnattr_setsigmask(&attributes, &signals);
    for (int signal : {SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGCHLD}) sigaddset(&signals, signal);
    posix_spawnattr_setsigdefault(&attributes, &signals);
  }
  ~SpawnSetup() {
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attributes);
  }
  SpawnSetup(const SpawnSetup&) = delete;
  SpawnSetup& operator=(const SpawnSetup&) = delete;
};

}  // namespace

Result<std::unique_ptr<LineProcess>> LineProcess::start(const std::vector<std::string>& argv,
                                                        const std::filesystem::path& working_dir,
                                                        const std::vector<std::string>& extra_env) {
  Pipes pipes;
  FAPO_RETURN_IF_ERROR(pipes.open());
  SpawnSetup setup(pipes, working_dir);
  std::vector<std::string> args = argv;
  std::vector<std::string> env = child_environment(extra_env);
  std::vector<char*> c_args = c_strings(args);
  std::vector<char*> c_env = c_strings(env);
  pid_t pid = -1;
  int rc = posix_spawn(&pid, args[0].c_str(), &setup.actions, &setup.attributes, c_args.data(),
                       c_env.data());
  if (rc != 0) return make_error(ErrorCode::kScorer, errno_text(rc));

  std::unique_ptr<LineProcess> process(new LineProcess());
  process->pid_ = pid;
  process->stdin_fd_ = pipes.take(1);
  process->stdout_fd_ = pipes.take(2);
  process->stderr_fd_ = pipes.take(4);
  for (int fd : {process->stdin_fd_, process->stdout_fd_, process->stderr_fd_}) {
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  }
  return process;  // the child's ends close with `pipes`
}

LineProcess::~LineProcess() { stop(std::chrono::seconds(1)); }

LineProcess::Reply LineProcess::exchange(std::string_view request,
                                         std::chrono::milliseconds timeout) {
  ScopedSigpipeBlock sigpipe_block;
  Clock::time_point deadline = Clock::now() + timeout;
  if (stdout_fd_ < 0 || stdin_fd_ < 0) return {Outcome::kExited, "", "its pipes are closed"};
  drain_stderr();
  bool open = read_stdout();
  if (!stdout_buffer_.empty()) {
    reusable_ = false;
    std::string stray = stdout_buffer_.substr(0, stdout_buffer_.find('\n'));
    return {Outcome::kStrayOutput, stray, ""};
  }
  if (!open) return {Outcome::kExited, "", ""};

  std::string pending(request);
  pending.push_back('\n');
  std::size_t written = 0;
  while (true) {
    std::string line;
    if (take_line(line)) {
      if (written < pending.size()) reusable_ = false;
      return {Outcome::kLine, std::move(line), ""};
    }
    if (stdout_buffer_.size() > kMaxLineBytes) {
      reusable_ = false;
      return {Outcome::kTooLong, "", ""};
    }
    int wait_ms = remaining_ms(deadline);
    if (wait_ms == 0) return {Outcome::kTimeout, "", ""};
    std::array<pollfd, 3> fds{};
    nfds_t count = 0;
    fds[count++] = {stdout_fd_, POLLIN, 0};
    if (written < pending.size()) fds[count++] = {stdin_fd_, POLLOUT, 0};
    if (stderr_fd_ >= 0) fds[count++] = {stderr_fd_, POLLIN, 0};
    if (::poll(fds.data(), count, wait_ms) < 0) {
      if (errno == EINTR) continue;
      return {Outcome::kIoError, "", "poll failed: " + errno_text(errno)};
    }
    drain_stderr();
    if (written < pending.size() && fds[1].revents != 0) {
      if (auto failed = write_some(pending, written)) return *failed;
    }
    if (fds[0].revents != 0 && !read_stdout() && stdout_buffer_.find('\n') == std::string::npos) {
      return {Outcome::kExited, stdout_buffer_, ""};
    }
  }
}

std::optional<LineProcess::Reply> LineProcess::write_some(const std::string& pending,
                                                          std::size_t& written) {
  ssize_t n = ::write(stdin_fd_, pending.data() + written, pending.size() - written);
  if (n > 0) {
    written += static_cast<std::size_t>(n);
  } else if (errno == EPIPE) {
    return Reply{Outcome::kExited, stdout_buffer_, "it closed its stdin"};
  } else if (errno != EAGAIN && errno != EINTR) {
    return Reply{Outcome::kIoError, "", "writing to it failed: " + errno_text(errno)};
  }
  return std::nullopt;
}

bool LineProcess::read_stdout() {
  if (stdout_fd_ < 0) return false;
  std::array<char, 65536> chunk;
  while (stdout_buffer_.size() <= kMaxLineBytes) {
    ssize_t n = ::read(stdout_fd_, chunk.data(), chunk.size());
    if (n > 0) {
      stdout_buffer_.append(chunk.data(), static_cast<std::size_t>(n));
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && errno == EAGAIN) {
      return true;
    } else {
      close_fd(stdout_fd_);  // end of file, or a broken pipe that will not recover
      return false;
    }
  }
  return true;
}

bool LineProcess::take_line(std::string& line) {
  std::size_t end = stdout_buffer_.find('\n');
  if (end == std::string::npos) return false;
  line = stdout_buffer_.substr(0, end);
  if (!line.empty() && line.back() == '\r') line.pop_back();
  stdout_buffer_.erase(0, end + 1);
  ++lines_read_;
  return true;
}

void LineProcess::drain_stderr() {
  std::array<char, 8192> chunk;
  while (stderr_fd_ >= 0) {
    ssize_t n = ::read(stderr_fd_, chunk.data(), chunk.size());
    if (n > 0) {
      stderr_buffer_.append(chunk.data(), static_cast<std::size_t>(n));
      if (stderr_buffer_.size() > 2 * kStderrKeepBytes) {
        stderr_buffer_.erase(0, stderr_buffer_.size() - kStderrKeepBytes);
      }
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && errno == EAGAIN) {
      return;
    } else {
      close_fd(stderr_fd_);
    }
  }
}

std::vector<std::string> LineProcess::stderr_tail(std::size_t max_lines) const {
  std::vector<std::string> lines;
  std::size_t end = stderr_buffer_.size();
  while (end > 0 && lines.size() < max_lines) {
    std::size_t start = stderr_buffer_.rfind('\n', end - 1);
    std::size_t begin = start == std::string::npos ? 0 : start + 1;
    std::string line = stderr_buffer_.substr(begin, end - begin);
    if (line.find_first_not_of(" \t\r") != std::string::npos) lines.insert(lines.begin(), line);
    if (start == std::string::npos) break;
    end = start;
  }
  return lines;
}

void LineProcess::close_fd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

std::string LineProcess::stop(std::chrono::milliseconds grace) {
  if (pid_ <= 0) return exit_description_;
  close_fd(stdin_fd_);  // a well-behaved child exits when its input ends
  Clock::time_point deadline = Clock::now() + grace;
  // Collect the rest of stderr (a crash writes its traceback last) until the pipes close.
  while ((stdout_fd_ >= 0 || stderr_fd_ >= 0) && remaining_ms(deadline) > 0) {
    std::array<pollfd, 2> fds{pollfd{stdout_fd_, POLLIN, 0}, pollfd{stderr_fd_, POLLIN, 0}};
    if (::poll(fds.data(), fds.size(), remaining_ms(deadline)) < 0 && errno != EINTR) break;
    if (fds[0].revents != 0) {
      read_stdout();
      stdout_buffer_.clear();
    }
    drain_stderr();
  }
  // Closed pipes do not mean the exit has completed: poll briefly, without reaping, so the
  // group can still be signalled safely (an unreaped pid is never reused).
  siginfo_t info{};
  while (::waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
         info.si_pid == 0 && remaining_ms(deadline) > 0) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  ::kill(-pid_, SIGKILL);  // the child if still running, and anything it left in its group
  int status = 0;
  pid_t reaped = -1;
  do {
    reaped = ::waitpid(pid_, &status, 0);
  } while (reaped < 0 && errno == EINTR);
  exit_description_ = reaped == pid_ ? describe_wait_status(status) : "ended";
  close_fd(stdout_fd_);
  close_fd(stderr_fd_);
  pid_ = -1;
  return exit_description_;
}

}  // namespace fapo
