// ThreadPool: a fixed set of threads running posted tasks in FIFO order. Used by the pipeline to keep image
// decoding and letterboxing off the network I/O threads. Post is thread-safe. The destructor runs every task
// still queued, then joins the threads; a task must not Post to a pool that is being destroyed.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace accel {

class ThreadPool {
 public:
  explicit ThreadPool(int threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  void Post(std::function<void()> task);
  size_t queued() const;

 private:
  void Loop();

  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> tasks_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace accel
