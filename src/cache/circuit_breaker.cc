#include "cache/circuit_breaker.h"

#include <algorithm>

namespace accel {

CircuitBreaker::CircuitBreaker(Options options) : options_(options), backoff_(options.initial_backoff) {}

void CircuitBreaker::OpenLocked() {
  state_ = State::kOpen;
  retry_at_ = options_.clock->Now() + backoff_;
  backoff_ = std::min(options_.max_backoff, backoff_ * 2);
}

bool CircuitBreaker::Allow() {
  std::lock_guard lock(mu_);
  switch (state_) {
    case State::kClosed:
      return true;
    case State::kHalfOpen:
      return false;
    case State::kOpen:
      if (options_.clock->Now() < retry_at_) return false;
      state_ = State::kHalfOpen;
      return true;
  }
  return false;
}

void CircuitBreaker::RecordSuccess() {
  std::lock_guard lock(mu_);
  state_ = State::kClosed;
  consecutive_failures_ = 0;
  backoff_ = options_.initial_backoff;
}

void CircuitBreaker::RecordFailure() {
  std::lock_guard lock(mu_);
  ++consecutive_failures_;
  if (state_ == State::kHalfOpen ||
      (state_ == State::kClosed && consecutive_failures_ >= options_.failures_to_open))
    OpenLocked();
}

CircuitBreaker::State CircuitBreaker::state() const {
  std::lock_guard lock(mu_);
  return state_;
}

SteadyTime CircuitBreaker::retry_at() const {
  std::lock_guard lock(mu_);
  return retry_at_;
}

Micros CircuitBreaker::backoff() const {
  std::lock_guard lock(mu_);
  return backoff_;
}

std::string_view CircuitStateName(CircuitBreaker::State state) {
  switch (state) {
    case CircuitBreaker::State::kClosed:
      return "closed";
    case CircuitBreaker::State::kOpen:
      return "open";
    case CircuitBreaker::State::kHalfOpen:
      return "half-open";
  }
  return "unknown";
}

}  // namespace accel
