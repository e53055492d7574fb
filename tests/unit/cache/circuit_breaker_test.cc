#include "cache/circuit_breaker.h"

#include <gtest/gtest.h>

namespace accel {
namespace {

using std::chrono::milliseconds;
using State = CircuitBreaker::State;

TEST(CircuitBreaker, OpensAfterConsecutiveFailuresAndBacksOffExponentiallyUpToTheCap) {
  FakeClock clock;
  CircuitBreaker b({.failures_to_open = 3,
                    .initial_backoff = milliseconds(100),
                    .max_backoff = milliseconds(350),
                    .clock = &clock});
  EXPECT_TRUE(b.Allow());
  b.RecordFailure();
  b.RecordFailure();
  EXPECT_EQ(b.state(), State::kClosed);
  b.RecordSuccess();  // a success in between: the count starts again
  b.RecordFailure();
  b.RecordFailure();
  EXPECT_EQ(b.state(), State::kClosed);
  b.RecordFailure();
  ASSERT_EQ(b.state(), State::kOpen);
  EXPECT_FALSE(b.Allow());

  // Each failed trial doubles the wait: 100, 200, then 350 (the cap), and stays there.
  for (int wait_ms : {100, 200, 350, 350}) {
    clock.Advance(milliseconds(wait_ms - 1));
    EXPECT_FALSE(b.Allow()) << wait_ms;
    clock.Advance(milliseconds(1));
    EXPECT_TRUE(b.Allow()) << wait_ms;  // the trial
    EXPECT_EQ(b.state(), State::kHalfOpen);
    EXPECT_FALSE(b.Allow()) << "only one trial at a time";
    b.RecordFailure();
    EXPECT_EQ(b.state(), State::kOpen);
  }
}

TEST(CircuitBreaker, ASuccessfulTrialClosesItAndResetsTheBackoff) {
  FakeClock clock;
  CircuitBreaker b({.failures_to_open = 1,
                    .initial_backoff = milliseconds(100),
                    .max_backoff = milliseconds(1000),
                    .clock = &clock});
  b.RecordFailure();
  ASSERT_EQ(b.state(), State::kOpen);
  clock.Advance(milliseconds(100));
  ASSERT_TRUE(b.Allow());
  b.RecordFailure();  // backoff now 200
  clock.Advance(milliseconds(200));
  ASSERT_TRUE(b.Allow());
  b.RecordSuccess();
  EXPECT_EQ(b.state(), State::kClosed);
  EXPECT_TRUE(b.Allow());
  EXPECT_EQ(b.backoff(), milliseconds(100));
  b.RecordFailure();
  clock.Advance(milliseconds(99));
  EXPECT_FALSE(b.Allow());
  clock.Advance(milliseconds(1));
  EXPECT_TRUE(b.Allow());
}

}  // namespace
}  // namespace accel
