#include <gtest/gtest.h>

#include "core/clock.h"
#include "engines/hailo/hailo_recovery.h"

namespace accel {
namespace {

using std::chrono::milliseconds;

TEST(HailoBackoff, DoublesUpToTheCap) {
  BackoffSchedule s(milliseconds(500), milliseconds(3000));
  EXPECT_EQ(s.DelayFor(0), milliseconds(500));
  EXPECT_EQ(s.DelayFor(1), milliseconds(1000));
  EXPECT_EQ(s.DelayFor(2), milliseconds(2000));
  EXPECT_EQ(s.DelayFor(3), milliseconds(3000));
  EXPECT_EQ(s.DelayFor(1000000), milliseconds(3000));
}

TEST(HailoRecovery, FailsWaitsRetriesAndRejoins) {
  FakeClock clock;
  HailoRecovery r(BackoffSchedule(milliseconds(100), milliseconds(1000)));
  EXPECT_FALSE(r.failed());
  EXPECT_FALSE(r.DueForAttempt(clock.Now()));

  r.MarkFailed(clock.Now(), "HAILO_DRIVER_TIMEOUT");
  EXPECT_TRUE(r.failed());
  EXPECT_EQ(r.reason(), "HAILO_DRIVER_TIMEOUT");
  EXPECT_FALSE(r.DueForAttempt(clock.Now()));
  clock.Advance(milliseconds(99));
  EXPECT_FALSE(r.DueForAttempt(clock.Now()));
  // More faults from the same episode do not push the first attempt back.
  r.MarkFailed(clock.Now(), "another in-flight batch failed");
  EXPECT_EQ(r.reason(), "HAILO_DRIVER_TIMEOUT");
  clock.Advance(milliseconds(1));
  EXPECT_TRUE(r.DueForAttempt(clock.Now()));

  r.AttemptFailed(clock.Now(), "VDevice create: HAILO_OUT_OF_PHYSICAL_DEVICES");
  EXPECT_EQ(r.attempts(), 1);
  EXPECT_TRUE(r.failed());
  clock.Advance(milliseconds(199));
  EXPECT_FALSE(r.DueForAttempt(clock.Now()));
  clock.Advance(milliseconds(1));
  EXPECT_TRUE(r.DueForAttempt(clock.Now()));

  r.Recovered();
  EXPECT_FALSE(r.failed());
  EXPECT_EQ(r.attempts(), 0);
  EXPECT_FALSE(r.DueForAttempt(clock.Now()));

  // A new episode starts from the initial delay again.
  r.MarkFailed(clock.Now(), "timeout");
  clock.Advance(milliseconds(100));
  EXPECT_TRUE(r.DueForAttempt(clock.Now()));
}

}  // namespace
}  // namespace accel
