// DeviceHealth: the scheduler's view of whether a device is in rotation, after Envoy's outlier detection.
// `eject_after` consecutive failed batches eject it (a success resets the count); some faults eject at once
// (the engine says it failed, a batch hung past the execution timeout). An ejected device is probed after a
// back-off; a failed probe doubles the back-off up to a cap, a passed probe brings it back with the back-off
// and the failure count reset. Pure; time is passed in. Not thread-safe (the owner locks).
#pragma once

#include <string>

#include "core/clock.h"

namespace accel {

struct HealthPolicy {
  int eject_after = 3;
  Micros backoff{1'000'000};
  Micros backoff_max{30'000'000};
};

class DeviceHealth {
 public:
  explicit DeviceHealth(HealthPolicy policy = {});

  void RecordSuccess();
  // Returns true when this failure ejected the device.
  bool RecordFailure(const std::string& reason, SteadyTime now);
  // Ejects at once (no-op when already ejected). Returns true when it ejected.
  bool Eject(const std::string& reason, SteadyTime now);
  // Result of a probe of an ejected device. Returns true when the device rejoined.
  bool RecordProbe(bool passed, const std::string& reason, SteadyTime now);

  bool ejected() const { return ejected_; }
  const std::string& reason() const { return reason_; }
  bool ProbeDue(SteadyTime now) const { return ejected_ && now >= next_probe_; }
  SteadyTime next_probe() const { return next_probe_; }
  Micros backoff() const { return backoff_; }
  int consecutive_failures() const { return consecutive_failures_; }
  SteadyTime ejected_at() const { return ejected_at_; }

 private:
  HealthPolicy policy_;
  bool ejected_ = false;
  std::string reason_;
  std::string eject_reason_;
  int consecutive_failures_ = 0;
  Micros backoff_;
  SteadyTime next_probe_{};
  SteadyTime ejected_at_{};
};

}  // namespace accel
