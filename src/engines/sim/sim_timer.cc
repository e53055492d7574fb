#include "engines/sim/sim_timer.h"

#include <chrono>

namespace accel {

SimTimer::SimTimer() : thread_([this] { Loop(); }) {}

SimTimer::~SimTimer() { Stop(); }

bool SimTimer::Schedule(SteadyTime when, std::function<void()> fn) {
  {
    std::lock_guard lock(mu_);
    if (stopped_) return false;
    entries_.push(Entry{when, next_seq_++, std::move(fn)});
  }
  cv_.notify_one();
  return true;
}

void SimTimer::Stop() {
  {
    std::lock_guard lock(mu_);
    if (stopped_ && !thread_.joinable()) return;
    stopped_ = true;
    entries_ = {};
  }
  cv_.notify_one();
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
}

void SimTimer::Loop() {
  std::unique_lock lock(mu_);
  while (!stopped_) {
    if (entries_.empty()) {
      cv_.wait(lock);
      continue;
    }
    const SteadyTime when = entries_.top().when;
    if (std::chrono::steady_clock::now() < when) {
      cv_.wait_until(lock, when);
      continue;
    }
    // priority_queue::top is const; the function is moved out through a copy of the entry.
    std::function<void()> fn = std::move(const_cast<Entry&>(entries_.top()).fn);
    entries_.pop();
    lock.unlock();
    fn();
    lock.lock();
  }
}

}  // namespace accel
