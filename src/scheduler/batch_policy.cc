#include "scheduler/batch_policy.h"

#include <algorithm>

namespace accel {

BatchPolicy::BatchPolicy(int max_batch, Micros max_queue_delay)
    : max_batch_(std::max(max_batch, 1)), max_queue_delay_(std::max(max_queue_delay, Micros(0))) {}

BatchDecision BatchPolicy::Decide(int queued, SteadyTime oldest_arrival, SteadyTime now) const {
  BatchDecision d;
  if (queued <= 0) {
    d.idle = true;
    return d;
  }
  if (queued >= max_batch_) {
    d.take = max_batch_;
    return d;
  }
  const SteadyTime window_end = oldest_arrival + max_queue_delay_;
  if (max_batch_ == 1 || now >= window_end) {
    d.take = queued;
    return d;
  }
  d.wait_until = window_end;
  return d;
}

}  // namespace accel
