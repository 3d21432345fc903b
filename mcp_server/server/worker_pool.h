// A fixed set of threads running queued tasks in order of arrival. Tool calls run here so a long
// call never blocks the thread that reads messages (and answers ping and cancellation).
// submit() and wait_idle() are thread-safe; stop() is called once, by the owner.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace fapo::mcp {

class WorkerPool {
 public:
  explicit WorkerPool(std::size_t threads);
  ~WorkerPool();  // stop()
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Queues a task; false (and the task is destroyed unrun) once stop() has begun.
  bool submit(std::function<void()> task);

  // Waits until no task is queued or running, up to `timeout`; true when idle.
  bool wait_idle(std::chrono::milliseconds timeout);

  // Refuses new tasks, drops queued ones (destroying them unrun), waits for running ones and
  // joins the threads. Idempotent.
  void stop();

 private:
  void run();

  std::mutex mutex_;  // guards everything below
  std::condition_variable wake_;
  std::condition_variable idle_;
  std::deque<std::function<void()>> queue_;
  std::size_t running_ = 0;
  bool stopping_ = false;

  std::vector<std::thread> threads_;  // touched by the constructor and stop() only
};

}  // namespace fapo::mcp
