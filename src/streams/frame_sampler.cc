#include "streams/frame_sampler.h"

#include <algorithm>
#include <cmath>

namespace accel {

FrameSampler::FrameSampler(double fps)
    : interval_(Micros(static_cast<int64_t>(std::llround(1e6 / std::max(fps, 0.001))))) {}

FrameSampler::Decision FrameSampler::Tick(SteadyTime now) {
  if (now < next_due_) return Decision::kWait;
  // The next slot is one interval after this one; a runner that fell behind starts afresh from now
  // instead of catching up in a burst.
  next_due_ += interval_;
  if (next_due_ <= now) next_due_ = now + interval_;
  if (in_flight_) {
    ++busy_skips_;
    return Decision::kBusy;
  }
  in_flight_ = true;
  return Decision::kSample;
}

void FrameSampler::Abandon(SteadyTime now) {
  in_flight_ = false;
  // Try again soon rather than a whole interval later: the frame is usually a few milliseconds away.
  next_due_ = std::min(next_due_, now + std::min(interval_, Micros(20'000)));
}

}  // namespace accel
