// The lock that makes one writer per run: an exclusive flock(2) on the run's lock file, held
// for the writer's lifetime. flock locks belong to an open file description, so the kernel
// drops the lock when the holding process dies (however it dies) and two opens of the same file
// conflict even inside one process. The holder writes its pid into the file so that a refused
// writer can say who holds the run. The file itself is never deleted: unlinking a lock file
// lets a third process lock a fresh inode while the old one is still held.
//
// A RunLock is movable and not shared between threads; probing (is_locked) is thread-safe.
#pragma once

#include <filesystem>
#include <string_view>

#include "engine/base/result.h"

namespace fapo {

class RunLock {
 public:
  RunLock() = default;
  ~RunLock() { release(); }
  RunLock(const RunLock&) = delete;
  RunLock& operator=(const RunLock&) = delete;
  RunLock(RunLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  RunLock& operator=(RunLock&& other) noexcept;

  // Takes the lock or fails with kConflict "run <id> is being written by another process
  // (pid N)". Waits up to about 100 ms first, because a status probe holds a shared lock for a
  // few microseconds and must not make a writer fail.
  static Result<RunLock> acquire(const std::filesystem::path& lock_path, std::string_view run_id);

  // True while some writer holds the lock. Takes and drops a shared lock when free.
  static bool is_locked(const std::filesystem::path& lock_path);

  bool is_held() const { return fd_ >= 0; }
  void release();

 private:
  int fd_ = -1;
};

}  // namespace fapo
