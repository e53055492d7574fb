// SimTimer: runs callbacks at given times on one background thread. The sim engine uses it so that a
// simulated batch costs wall time but no CPU (many simulated devices share 2 cores in the benchmarks).
//
// Threading: Schedule may be called from any thread. Callbacks run on the timer thread, one at a time, and
// must not call Stop. Stop drops callbacks that have not run yet and joins the thread; idempotent.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <queue>
#include <thread>
#include <vector>

#include "core/clock.h"

namespace accel {

class SimTimer {
 public:
  SimTimer();
  ~SimTimer();
  SimTimer(const SimTimer&) = delete;
  SimTimer& operator=(const SimTimer&) = delete;

  // Runs `fn` at (or just after) `when` on the steady clock. Returns false once stopped.
  bool Schedule(SteadyTime when, std::function<void()> fn);
  void Stop();

 private:
  struct Entry {
    SteadyTime when;
    uint64_t seq;  // FIFO among equal times
    std::function<void()> fn;
  };
  struct Later {
    bool operator()(const Entry& a, const Entry& b) const {
      return a.when != b.when ? a.when > b.when : a.seq > b.seq;
    }
  };
  void Loop();

  std::mutex mu_;
  std::condition_variable cv_;
  std::priority_queue<Entry, std::vector<Entry>, Later> entries_;
  uint64_t next_seq_ = 0;
  bool stopped_ = false;
  std::thread thread_;
};

}  // namespace accel
