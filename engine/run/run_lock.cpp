#include "engine/run/run_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <string>
#include <thread>

namespace fapo {
namespace {

constexpr int kLockAttempts = 25;
constexpr auto kLockRetryDelay = std::chrono::milliseconds(4);

// flock(2) restarted after signals.
int flock_retrying(int fd, int operation) {
  int rc;
  do {
    rc = ::flock(fd, operation);
  } while (rc != 0 && errno == EINTR);
  return rc;
}

// The pid the holder wrote into the lock file, or "unknown".
std::string holder_pid(int fd) {
  char buffer[32] = {};
  ssize_t n = ::pread(fd, buffer, sizeof buffer - 1, 0);
  std::string text = n > 0 ? std::string(buffer, static_cast<std::size_t>(n)) : std::string();
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text.empty() ? std::string("unknown") : text;
}

Error io_error(const std::filesystem::path& path, const char* what) {
  return make_error(ErrorCode::kIo, path.string() + ": " + what + ": " + std::strerror(errno));
}

}  // namespace

RunLock& RunLock::operator=(RunLock&& other) noexcept {
  if (this != &other) {
    release();
    fd_ = other.fd_;
    other.fd_ = -1;
  }
  return *this;
}

void RunLock::release() {
  if (fd_ < 0) return;
  ::close(fd_);  // closing the last descriptor of the description drops the flock
  fd_ = -1;
}

Result<RunLock> RunLock::acquire(const std::filesystem::path& lock_path, std::string_view run_id) {
  int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return io_error(lock_path, "cannot open lock file");
  RunLock lock;
  lock.fd_ = fd;
  for (int attempt = 0;; ++attempt) {
    if (flock_retrying(fd, LOCK_EX | LOCK_NB) == 0) break;
    if (errno != EWOULDBLOCK) return io_error(lock_path, "cannot lock");
    if (attempt + 1 == kLockAttempts) {
      return make_error(ErrorCode::kConflict, "run " + std::string(run_id) +
                                                  " is being written by another process (pid " +
                                                  holder_pid(fd) + ")");
    }
    std::this_thread::sleep_for(kLockRetryDelay);
  }
  std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, pid.data(), pid.size(), 0) < 0) {
    return io_error(lock_path, "cannot record the writer's pid");
  }
  return lock;
}

bool RunLock::is_locked(const std::filesystem::path& lock_path) {
  int fd = ::open(lock_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;  // no lock file: nobody ever wrote this run
  bool locked = flock_retrying(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
  ::close(fd);
  return locked;
}

}  // namespace fapo
