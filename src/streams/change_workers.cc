#include "streams/change_workers.h"

#include <algorithm>
#include <string>

namespace accel {

ChangeWorkers::ChangeWorkers(size_t max_running) : max_running_(std::max<size_t>(1, max_running)) {}

ChangeWorkers::~ChangeWorkers() { CloseAndJoin(); }

std::list<ChangeWorkers::Worker> ChangeWorkers::TakeFinished() {
  std::list<Worker> finished;
  for (auto it = workers_.begin(); it != workers_.end();) {
    auto next = std::next(it);
    if (it->done->load()) finished.splice(finished.end(), workers_, it);
    it = next;
  }
  return finished;
}

Status ChangeWorkers::Run(std::function<void()> work) {
  std::list<Worker> finished;
  Status status;
  {
    std::lock_guard<std::mutex> lock(mu_);
    finished = TakeFinished();
    if (closed_) {
      status = Unavailable("the service is stopping");
    } else if (workers_.size() >= max_running_) {
      status = ResourceExhausted("too many stream changes in progress (" + std::to_string(max_running_) +
                                 "); retry later");
    } else {
      auto done = std::make_shared<std::atomic<bool>>(false);
      // The thread starts under the lock, so CloseAndJoin always finds it in workers_.
      workers_.push_back(Worker{std::thread([work = std::move(work), done] {
                                  work();
                                  done->store(true);
                                }),
                                done});
    }
  }
  for (Worker& w : finished) w.thread.join();  // finished already: returns at once
  return status;
}

void ChangeWorkers::CloseAndJoin() {
  std::lock_guard<std::mutex> joining(join_mu_);
  std::list<Worker> workers;
  {
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = true;
    workers.swap(workers_);
  }
  for (Worker& w : workers) w.thread.join();
}

size_t ChangeWorkers::running() const {
  std::lock_guard<std::mutex> lock(mu_);
  size_t n = 0;
  for (const Worker& w : workers_) n += w.done->load() ? 0 : 1;
  return n;
}

}  // namespace accel
