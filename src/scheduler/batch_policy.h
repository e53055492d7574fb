// BatchPolicy: when a device worker should hand a batch to its engine. Pure; time is passed in.
//
// Rule: dispatch at once when max_batch items are waiting or the oldest waiting item has waited
// max_queue_delay; otherwise wait until the oldest item's window closes. The window starts when the oldest
// item reached this device's queue, so one request waits at most max_queue_delay for company.
#pragma once

#include "core/clock.h"

namespace accel {

struct BatchDecision {
  int take = 0;             // > 0: dispatch this many now
  SteadyTime wait_until{};  // when take == 0 and items wait: decide again then
  bool idle = false;        // nothing queued: wait for an arrival
};

class BatchPolicy {
 public:
  BatchPolicy(int max_batch = 1, Micros max_queue_delay = Micros(0));

  BatchDecision Decide(int queued, SteadyTime oldest_arrival, SteadyTime now) const;

  int max_batch() const { return max_batch_; }
  Micros max_queue_delay() const { return max_queue_delay_; }

 private:
  int max_batch_;
  Micros max_queue_delay_;
};

}  // namespace accel
