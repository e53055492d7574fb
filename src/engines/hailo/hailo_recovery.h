// When to try to bring a failed card back. The engine's recovery thread asks this object whether an
// attempt is due and reports the outcome; the arithmetic lives here so it is tested with a FakeClock.
// Not thread-safe: the engine calls it under its own mutex.
#pragma once

#include <chrono>
#include <string>

#include "core/clock.h"

namespace accel {

// Delay before attempt n (0-based): initial * 2^n, capped at max.
class BackoffSchedule {
 public:
  BackoffSchedule(std::chrono::milliseconds initial, std::chrono::milliseconds max);
  std::chrono::milliseconds DelayFor(int attempt) const;

 private:
  std::chrono::milliseconds initial_;
  std::chrono::milliseconds max_;
};

class HailoRecovery {
 public:
  explicit HailoRecovery(BackoffSchedule schedule) : schedule_(schedule) {}

  // A fault was seen. The first fault of an episode starts the schedule; later faults in the same episode
  // (other in-flight batches failing) change nothing, so a burst of errors does not delay recovery.
  void MarkFailed(SteadyTime now, const std::string& reason);
  bool failed() const { return failed_; }
  const std::string& reason() const { return reason_; }
  int attempts() const { return attempts_; }
  SteadyTime next_attempt() const { return next_attempt_; }
  bool DueForAttempt(SteadyTime now) const { return failed_ && now >= next_attempt_; }

  // The attempt (recreate the VDevice, reload models, run the probe) failed: wait longer.
  void AttemptFailed(SteadyTime now, const std::string& why);
  // The probe passed: the card rejoins.
  void Recovered();

 private:
  BackoffSchedule schedule_;
  bool failed_ = false;
  int attempts_ = 0;
  std::string reason_;
  SteadyTime next_attempt_{};
};

}  // namespace accel
