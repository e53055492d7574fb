// Injectable time. The scheduler's rules (placement, batching windows, ejection and back-off) read time
// only through a Clock so that tests can drive them with FakeClock instead of sleeping.
#pragma once

#include <atomic>
#include <chrono>

namespace accel {

using SteadyTime = std::chrono::steady_clock::time_point;
using Micros = std::chrono::microseconds;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual SteadyTime Now() const = 0;
  // The process-wide real clock.
  static Clock* Real();
};

// A clock that moves only when told to. Thread-safe.
class FakeClock : public Clock {
 public:
  SteadyTime Now() const override { return SteadyTime(Micros(now_us_.load())); }
  void Advance(Micros d) { now_us_ += d.count(); }
  void Set(SteadyTime t) { now_us_ = std::chrono::duration_cast<Micros>(t.time_since_epoch()).count(); }

 private:
  std::atomic<int64_t> now_us_{1'000'000'000};
};

inline double MillisBetween(SteadyTime a, SteadyTime b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

}  // namespace accel
