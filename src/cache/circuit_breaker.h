// CircuitBreaker: when a remote dependency (the Redis level of the result cache) keeps failing, stop
// calling it for a back-off period instead of paying a timeout per request, then let one trial call
// through; the back-off doubles after each failed trial, up to a cap, and resets on a success.
//
//   closed --(failures_to_open consecutive failures)--> open --(backoff elapsed)--> half-open
//   half-open --(trial succeeds)--> closed;  half-open --(trial fails)--> open, backoff doubled (capped)
//
// Time comes from the injected Clock (tests drive it with FakeClock). Thread-safe.
#pragma once

#include <mutex>
#include <string_view>

#include "core/clock.h"

namespace accel {

class CircuitBreaker {
 public:
  enum class State { kClosed, kOpen, kHalfOpen };
  struct Options {
    int failures_to_open = 3;
    Micros initial_backoff = std::chrono::milliseconds(500);
    Micros max_backoff = std::chrono::seconds(30);
    const Clock* clock = Clock::Real();  // not owned
  };

  explicit CircuitBreaker(Options options);

  // Whether a call may go out now. Closed: yes. Open: no, until the back-off has elapsed; then the breaker
  // turns half-open and this returns true once (the trial). Half-open: no (the trial is out).
  bool Allow();
  void RecordSuccess();
  void RecordFailure();

  State state() const;
  // When an open breaker lets its next trial through (meaningful while open).
  SteadyTime retry_at() const;
  // The back-off the next opening will use.
  Micros backoff() const;

 private:
  void OpenLocked();

  const Options options_;
  mutable std::mutex mu_;
  State state_ = State::kClosed;
  int consecutive_failures_ = 0;
  Micros backoff_;
  SteadyTime retry_at_{};
};

std::string_view CircuitStateName(CircuitBreaker::State state);  // "closed", "open", "half-open"

}  // namespace accel
