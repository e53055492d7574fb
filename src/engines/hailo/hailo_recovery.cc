#include "engines/hailo/hailo_recovery.h"

#include <algorithm>

namespace accel {

BackoffSchedule::BackoffSchedule(std::chrono::milliseconds initial, std::chrono::milliseconds max)
    : initial_(std::max(initial, std::chrono::milliseconds(1))), max_(std::max(max, initial_)) {}

std::chrono::milliseconds BackoffSchedule::DelayFor(int attempt) const {
  auto delay = initial_;
  // Doubling stops at max; the loop bound keeps huge attempt numbers from overflowing.
  for (int i = 0; i < attempt && delay < max_; ++i) delay *= 2;
  return std::min(delay, max_);
}

void HailoRecovery::MarkFailed(SteadyTime now, const std::string& reason) {
  if (failed_) return;
  failed_ = true;
  attempts_ = 0;
  reason_ = reason;
  next_attempt_ = now + schedule_.DelayFor(0);
}

void HailoRecovery::AttemptFailed(SteadyTime now, const std::string& why) {
  if (!failed_) return;
  ++attempts_;
  reason_ = why;
  next_attempt_ = now + schedule_.DelayFor(attempts_);
}

void HailoRecovery::Recovered() {
  failed_ = false;
  attempts_ = 0;
  reason_.clear();
}

}  // namespace accel
