#include "metrics/request_window.h"

#include <gtest/gtest.h>

namespace accel {
namespace {

TEST(RequestWindow, EmptyWindowHasNoPercentiles) {
  FakeClock clock;
  RequestWindow w(&clock, 10);
  auto s = w.Read();
  EXPECT_EQ(s.requests, 0u);
  EXPECT_EQ(s.throughput_rps, 0);
  EXPECT_EQ(s.p50_ms, -1);
  EXPECT_EQ(s.p99_ms, -1);
}

TEST(RequestWindow, ThroughputAndPercentiles) {
  FakeClock clock;
  RequestWindow w(&clock, 10);
  clock.Advance(std::chrono::seconds(20));  // a full window after start
  // 10 seconds with 100 requests each: 99 at 10 ms and 1 at 200 ms.
  for (int second = 0; second < 10; ++second) {
    for (int i = 0; i < 99; ++i) w.Record(0.010, false);
    w.Record(0.200, true);
    clock.Advance(std::chrono::seconds(1));
  }
  clock.Advance(std::chrono::milliseconds(-500));  // read halfway through a second
  auto s = w.Read();
  // Window = the current half second + 9 full seconds before it: [20 s, 29.5 s], all 10 recorded seconds.
  EXPECT_NEAR(s.window_seconds, 9.5, 1e-6);
  EXPECT_EQ(s.requests, 1000u);
  EXPECT_EQ(s.errors, 10u);
  EXPECT_NEAR(s.throughput_rps, 1000 / 9.5, 1e-6);
  // Half a second later the oldest second (20) has left the window.
  clock.Advance(std::chrono::milliseconds(600));
  EXPECT_EQ(w.Read().requests, 900u);
  clock.Advance(std::chrono::milliseconds(-600));
  EXPECT_NEAR(s.p50_ms, 10, 1.0);  // buckets are 10% wide
  EXPECT_NEAR(s.p99_ms, 10, 1.0);  // 1% at 200 ms sits right at the 99th percentile's edge
  // A higher share of slow requests moves p99 but not p50.
  for (int i = 0; i < 50; ++i) w.Record(0.200, false);
  s = w.Read();
  EXPECT_NEAR(s.p50_ms, 10, 1.0);
  EXPECT_NEAR(s.p99_ms, 200, 20.0);
}

TEST(RequestWindow, OldSecondsLeaveTheWindow) {
  FakeClock clock;
  RequestWindow w(&clock, 5);
  for (int i = 0; i < 30; ++i) w.Record(0.001, false);
  EXPECT_EQ(w.Read().requests, 30u);
  clock.Advance(std::chrono::seconds(4));
  EXPECT_EQ(w.Read().requests, 30u);
  clock.Advance(std::chrono::seconds(1));
  EXPECT_EQ(w.Read().requests, 0u);
  // The ring slot is reused for a new second without mixing in the old counts.
  clock.Advance(std::chrono::seconds(1));
  w.Record(0.001, false);
  EXPECT_EQ(w.Read().requests, 1u);
}

TEST(RequestWindow, ShortUptimeIsNotInflated) {
  FakeClock clock;
  RequestWindow w(&clock, 10);
  clock.Advance(std::chrono::milliseconds(100));
  for (int i = 0; i < 5; ++i) w.Record(0.001, false);
  // 5 requests in 0.1 s must not be reported as 50/s: the span is floored at one second.
  EXPECT_DOUBLE_EQ(w.Read().throughput_rps, 5.0);
  clock.Advance(std::chrono::milliseconds(2400));
  EXPECT_NEAR(w.Read().throughput_rps, 2.0, 1e-9);
}

}  // namespace
}  // namespace accel
