#include "streams/frame_sampler.h"

#include <gtest/gtest.h>

namespace accel {
namespace {

using std::chrono::milliseconds;

TEST(FrameSampler, SamplesAtItsRate) {
  FrameSampler sampler(5);  // every 200 ms
  SteadyTime t = SteadyTime(std::chrono::seconds(100));
  EXPECT_EQ(sampler.Tick(t), FrameSampler::Decision::kSample);
  sampler.Finished();
  EXPECT_EQ(sampler.Tick(t + milliseconds(100)), FrameSampler::Decision::kWait);
  EXPECT_EQ(sampler.Tick(t + milliseconds(200)), FrameSampler::Decision::kSample);
  sampler.Finished();
  EXPECT_EQ(sampler.busy_skips(), 0u);
}

TEST(FrameSampler, AtMostOneInFlightAndSkipsAreCounted) {
  FrameSampler sampler(10);  // every 100 ms
  SteadyTime t = SteadyTime(std::chrono::seconds(100));
  ASSERT_EQ(sampler.Tick(t), FrameSampler::Decision::kSample);
  // A slow detection: three due slots pass while it is in flight; none starts another.
  int started = 0;
  for (int i = 1; i <= 3; ++i)
    if (sampler.Tick(t + milliseconds(100 * i)) == FrameSampler::Decision::kSample) ++started;
  EXPECT_EQ(started, 0);
  EXPECT_EQ(sampler.busy_skips(), 3u);
  EXPECT_TRUE(sampler.in_flight());
  sampler.Finished();
  EXPECT_EQ(sampler.Tick(t + milliseconds(400)), FrameSampler::Decision::kSample);
}

TEST(FrameSampler, NoBurstAfterFallingBehind) {
  FrameSampler sampler(10);
  SteadyTime t = SteadyTime(std::chrono::seconds(100));
  ASSERT_EQ(sampler.Tick(t), FrameSampler::Decision::kSample);
  sampler.Finished();
  // One second late: one sample now, then the next a whole interval later (no catch-up burst).
  ASSERT_EQ(sampler.Tick(t + milliseconds(1000)), FrameSampler::Decision::kSample);
  sampler.Finished();
  EXPECT_EQ(sampler.Tick(t + milliseconds(1001)), FrameSampler::Decision::kWait);
  EXPECT_EQ(sampler.next_due(), t + milliseconds(1100));
}

TEST(FrameSampler, AbandonRetriesSoon) {
  FrameSampler sampler(1);  // every second
  SteadyTime t = SteadyTime(std::chrono::seconds(100));
  ASSERT_EQ(sampler.Tick(t), FrameSampler::Decision::kSample);
  sampler.Abandon(t);  // no new frame yet
  EXPECT_FALSE(sampler.in_flight());
  EXPECT_LE(sampler.next_due(), t + milliseconds(20));
}

}  // namespace
}  // namespace accel
