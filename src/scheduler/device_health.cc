#include "scheduler/device_health.h"

#include <algorithm>

namespace accel {

DeviceHealth::DeviceHealth(HealthPolicy policy) : policy_(policy), backoff_(policy.backoff) {
  policy_.eject_after = std::max(policy_.eject_after, 1);
  policy_.backoff_max = std::max(policy_.backoff_max, policy_.backoff);
  backoff_ = policy_.backoff;
}

void DeviceHealth::RecordSuccess() {
  if (!ejected_) consecutive_failures_ = 0;
}

bool DeviceHealth::RecordFailure(const std::string& reason, SteadyTime now, bool eject_now) {
  ++consecutive_failures_;
  if (ejected_) return false;
  if (eject_now) return Eject(reason, now);
  if (consecutive_failures_ < policy_.eject_after) return false;
  return Eject(std::to_string(consecutive_failures_) + " consecutive failures, last: " + reason, now);
}

bool DeviceHealth::Eject(const std::string& reason, SteadyTime now) {
  if (ejected_) return false;
  ejected_ = true;
  reason_ = reason;
  eject_reason_ = reason;
  ejected_at_ = now;
  ++ejections_;
  backoff_ = policy_.backoff;
  next_probe_ = now + backoff_;
  return true;
}

bool DeviceHealth::RecordProbe(bool passed, const std::string& reason, SteadyTime now) {
  if (!ejected_) return false;
  if (passed) {
    ejected_ = false;
    reason_.clear();
    consecutive_failures_ = 0;
    backoff_ = policy_.backoff;
    return true;
  }
  backoff_ = std::min(backoff_ * 2, policy_.backoff_max);
  next_probe_ = now + backoff_;
  // Only the latest probe failure is kept, so the reason stays short while probes keep failing.
  if (!reason.empty()) reason_ = eject_reason_ + "; probe failed: " + reason;
  return false;
}

}  // namespace accel
