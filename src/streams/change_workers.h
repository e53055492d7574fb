// ChangeWorkers: the threads that carry out stream changes made through the API (add, replace, remove)
// off the HTTP I/O threads, owned by the StreamManager so that none of them outlives it: CloseAndJoin
// refuses new work and waits for the work still running, which the manager does before it stops its
// streams. A change blocks (a replaced stream's threads are joined, the streams file is written), which is
// why it needs a thread at all; the number running at once is bounded so that clients cannot pile up
// threads. Thread-safe.
#pragma once

#include <atomic>
#include <cstddef>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <thread>

#include "core/status.h"

namespace accel {

class ChangeWorkers {
 public:
  explicit ChangeWorkers(size_t max_running);
  ~ChangeWorkers();  // CloseAndJoin()
  ChangeWorkers(const ChangeWorkers&) = delete;
  ChangeWorkers& operator=(const ChangeWorkers&) = delete;

  // Starts `work` on a thread of its own. Unavailable after CloseAndJoin (the service is stopping);
  // ResourceExhausted while max_running are still running. `work` is not run (and is destroyed here) when
  // refused.
  Status Run(std::function<void()> work);
  // Refuses later work and returns once every thread started has finished. Idempotent; not from a worker.
  void CloseAndJoin();
  size_t running() const;

 private:
  struct Worker {
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> done;
  };
  // Takes the finished workers out of workers_ (caller holds mu_), to be joined outside the lock.
  std::list<Worker> TakeFinished();

  const size_t max_running_;
  std::mutex join_mu_;  // held through CloseAndJoin: a second call waits for the first
  mutable std::mutex mu_;
  bool closed_ = false;
  std::list<Worker> workers_;
};

}  // namespace accel
