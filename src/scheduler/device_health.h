// DeviceHealth: the scheduler's view of whether a device is in rotation, after Envoy's outlier detection.
// `eject_after` consecutive failures eject it (a success resets the count); some faults eject at once
// (the engine says it failed, a batch hung past the execution timeout). An ejected device is probed after a
// back-off; a failed probe doubles the back-off up to a cap, a passed probe brings it back with the back-off
// and the failure count reset. Pure; time is passed in. Not thread-safe (the owner locks). The device worker
// feeds every failure through one function (DeviceWorker::RecordFailureLocked), whatever detected it.
#pragma once

#include <cstdint>
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
  // Counts one failure. `eject_now` ejects at once with `reason`; otherwise the device is ejected when the
  // count reaches eject_after. Returns true when this failure ejected the device (false when it already was).
  bool RecordFailure(const std::string& reason, SteadyTime now, bool eject_now = false);
  // Ejects at once without counting a failure (no-op when already ejected). Returns true when it ejected.
  bool Eject(const std::string& reason, SteadyTime now);
  // Result of a probe of an ejected device. Returns true when the device rejoined.
  bool RecordProbe(bool passed, const std::string& reason, SteadyTime now);

  bool ejected() const { return ejected_; }
  const std::string& reason() const { return reason_; }
  bool ProbeDue(SteadyTime now) const { return ejected_ && now >= next_probe_; }
  SteadyTime next_probe() const { return next_probe_; }
  Micros backoff() const { return backoff_; }
  int consecutive_failures() const { return consecutive_failures_; }
  // Time of the latest ejection (meaningful once ejections() > 0) and how many there were.
  SteadyTime ejected_at() const { return ejected_at_; }
  uint64_t ejections() const { return ejections_; }

 private:
  HealthPolicy policy_;
  bool ejected_ = false;
  std::string reason_;
  std::string eject_reason_;
  int consecutive_failures_ = 0;
  Micros backoff_;
  SteadyTime next_probe_{};
  SteadyTime ejected_at_{};
  uint64_t ejections_ = 0;
};

}  // namespace accel
