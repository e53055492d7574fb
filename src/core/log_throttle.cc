#include "core/log_throttle.h"

namespace accel {

bool LogThrottle::Allow(std::string* held_back_note) {
  const SteadyTime now = Clock::Real()->Now();
  std::lock_guard lock(mutex_);
  if (last_ != SteadyTime{} && now - last_ < interval_) {
    ++held_back_;
    return false;
  }
  *held_back_note =
      held_back_ ? " (and " + std::to_string(held_back_) + " more since the last such line)" : std::string();
  last_ = now;
  held_back_ = 0;
  return true;
}

}  // namespace accel
