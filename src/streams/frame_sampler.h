// FrameSampler: when a stream runs its next detection. Detection runs at the stream's fps on the newest
// frame, with at most one frame in flight: a sample that falls due while the previous detection has not
// finished is skipped and counted (never queued), so a stream can never pile work onto the scheduler and
// starve interactive requests. Not thread-safe: the stream runner's thread owns it.
#pragma once

#include <cstdint>

#include "core/clock.h"

namespace accel {

class FrameSampler {
 public:
  enum class Decision {
    kWait,    // not due yet (next_due())
    kSample,  // due and nothing in flight: start a detection, then Finished() (or Abandon())
    kBusy,    // due but a detection is still in flight: skipped and counted
  };

  explicit FrameSampler(double fps);

  Decision Tick(SteadyTime now);
  // The detection started by the last kSample ended (answered or failed).
  void Finished() { in_flight_ = false; }
  // The last kSample found no new frame to run: nothing is in flight, and the next tick may try again.
  void Abandon(SteadyTime now);

  bool in_flight() const { return in_flight_; }
  SteadyTime next_due() const { return next_due_; }
  std::uint64_t busy_skips() const { return busy_skips_; }
  Micros interval() const { return interval_; }

 private:
  Micros interval_;
  SteadyTime next_due_{};
  bool in_flight_ = false;
  std::uint64_t busy_skips_ = 0;
};

}  // namespace accel
