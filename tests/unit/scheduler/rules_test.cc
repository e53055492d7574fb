// The pure scheduling rules, driven by a FakeClock: cost model (placement), batch policy, device health.
#include <gtest/gtest.h>

#include "core/clock.h"
#include "scheduler/batch_policy.h"
#include "scheduler/cost_model.h"
#include "scheduler/device_health.h"

namespace accel {
namespace {

using std::chrono::milliseconds;

TEST(ServiceEstimate, UsesPriorUntilFirstSample) {
  ServiceEstimate e(7.0);
  EXPECT_FALSE(e.has_samples());
  EXPECT_DOUBLE_EQ(e.BatchMs(1), 7.0);
  e.Add(1, 3.0);
  EXPECT_TRUE(e.has_samples());
  EXPECT_NEAR(e.BatchMs(1), 3.0, 1e-9);
}

TEST(ServiceEstimate, TracksChangeExponentially) {
  ServiceEstimate e(10.0, 0.5);
  e.Add(1, 2.0);
  for (int i = 0; i < 20; ++i) e.Add(1, 10.0);
  EXPECT_NEAR(e.BatchMs(1), 10.0, 0.01);
}

TEST(ServiceEstimate, LearnsFixedAndPerItemCostFromVaryingBatches) {
  ServiceEstimate e;
  for (int i = 0; i < 50; ++i) {
    const int n = 1 + i % 16;
    e.Add(n, 4.0 + 0.25 * n);
  }
  EXPECT_NEAR(e.BatchMs(16), 8.0, 0.05);
  EXPECT_NEAR(e.BatchMs(1), 4.25, 0.05);
}

TEST(ServiceEstimate, ConstantBatchSizeScalesProportionallyAboveIt) {
  ServiceEstimate e;
  for (int i = 0; i < 10; ++i) e.Add(2, 6.0);
  EXPECT_NEAR(e.BatchMs(2), 6.0, 1e-9);
  EXPECT_NEAR(e.BatchMs(1), 6.0, 1e-9);  // never optimistic below the sizes seen
  EXPECT_NEAR(e.BatchMs(4), 12.0, 1e-9);
}

DeviceLoad MakeLoad(double batch_ms, int queued, int max_batch = 1) {
  DeviceLoad load;
  load.queued = queued;
  load.max_batch = max_batch;
  load.estimate = ServiceEstimate(batch_ms);
  return load;
}

TEST(CostModel, IdleFastDeviceFinishesFirst) {
  FakeClock clock;
  const SteadyTime now = clock.Now();
  EXPECT_LT(ExpectedFinish(MakeLoad(2, 0), now), ExpectedFinish(MakeLoad(10, 0), now));
  EXPECT_DOUBLE_EQ(ExpectedFinishMs(MakeLoad(2, 0), now), 2.0);
}

TEST(CostModel, QueueDepthMakesFastDeviceLoseEventually) {
  FakeClock clock;
  const SteadyTime now = clock.Now();
  // (q + 1) x 2 ms against 10 ms: the fast device wins up to 4 queued, loses from 5.
  EXPECT_LT(ExpectedFinishMs(MakeLoad(2, 3), now), ExpectedFinishMs(MakeLoad(10, 0), now));
  EXPECT_GT(ExpectedFinishMs(MakeLoad(2, 5), now), ExpectedFinishMs(MakeLoad(10, 0), now));
}

TEST(CostModel, BatchingCountsWholeBatches) {
  FakeClock clock;
  const SteadyTime now = clock.Now();
  DeviceLoad load = MakeLoad(8, 20, 16);  // 21 items: one batch of 16 and one of 5
  EXPECT_DOUBLE_EQ(ExpectedFinishMs(load, now), 16.0);
  load.queued = 15;  // 16 items: exactly one batch
  EXPECT_DOUBLE_EQ(ExpectedFinishMs(load, now), 8.0);
}

TEST(CostModel, InFlightBatchCountsItsRemainderAndOverdueLooksSlow) {
  FakeClock clock;
  DeviceLoad load = MakeLoad(10, 0);
  load.in_flight_items = 1;
  load.in_flight_since = clock.Now();
  clock.Advance(milliseconds(4));
  EXPECT_NEAR(ExpectedFinishMs(load, clock.Now()), 6.0 + 10.0, 1e-6);
  clock.Advance(milliseconds(96));  // 100 ms into a 10 ms batch: presumed stuck
  EXPECT_NEAR(ExpectedFinishMs(load, clock.Now()), 90.0 + 10.0, 1e-6);
}

TEST(BatchPolicy, DispatchesAtOnceWhenFull) {
  FakeClock clock;
  BatchPolicy p(4, Micros(2000));
  BatchDecision d = p.Decide(6, clock.Now(), clock.Now());
  EXPECT_EQ(d.take, 4);
}

TEST(BatchPolicy, WaitsForTheWindowOfTheOldestItem) {
  FakeClock clock;
  BatchPolicy p(4, Micros(2000));
  const SteadyTime arrival = clock.Now();
  clock.Advance(Micros(500));
  BatchDecision d = p.Decide(2, arrival, clock.Now());
  EXPECT_EQ(d.take, 0);
  EXPECT_FALSE(d.idle);
  EXPECT_EQ(d.wait_until, arrival + Micros(2000));
  clock.Advance(Micros(1500));
  d = p.Decide(2, arrival, clock.Now());
  EXPECT_EQ(d.take, 2);
}

TEST(BatchPolicy, NoWindowOrBatchOfOneDispatchesImmediately) {
  FakeClock clock;
  EXPECT_EQ(BatchPolicy(8, Micros(0)).Decide(3, clock.Now(), clock.Now()).take, 3);
  EXPECT_EQ(BatchPolicy(1, Micros(5000)).Decide(3, clock.Now(), clock.Now()).take, 1);
  EXPECT_TRUE(BatchPolicy(8, Micros(0)).Decide(0, clock.Now(), clock.Now()).idle);
}

HealthPolicy TestPolicy() {
  HealthPolicy p;
  p.eject_after = 3;
  p.backoff = Micros(100'000);
  p.backoff_max = Micros(350'000);
  return p;
}

TEST(DeviceHealth, ConsecutiveFailuresEjectAndSuccessResets) {
  FakeClock clock;
  DeviceHealth h(TestPolicy());
  EXPECT_FALSE(h.RecordFailure("x", clock.Now()));
  EXPECT_FALSE(h.RecordFailure("x", clock.Now()));
  h.RecordSuccess();
  EXPECT_EQ(h.consecutive_failures(), 0);
  EXPECT_FALSE(h.RecordFailure("a", clock.Now()));
  EXPECT_FALSE(h.RecordFailure("b", clock.Now()));
  EXPECT_TRUE(h.RecordFailure("c", clock.Now()));
  EXPECT_TRUE(h.ejected());
  EXPECT_NE(h.reason().find("3 consecutive failures"), std::string::npos);
  EXPECT_NE(h.reason().find("c"), std::string::npos);
}

TEST(DeviceHealth, ProbeBackoffDoublesToCapAndPassRejoins) {
  FakeClock clock;
  DeviceHealth h(TestPolicy());
  ASSERT_TRUE(h.Eject("engine failed", clock.Now()));
  EXPECT_FALSE(h.Eject("again", clock.Now()));
  EXPECT_FALSE(h.ProbeDue(clock.Now()));
  clock.Advance(Micros(99'999));
  EXPECT_FALSE(h.ProbeDue(clock.Now()));
  clock.Advance(Micros(1));
  EXPECT_TRUE(h.ProbeDue(clock.Now()));
  EXPECT_FALSE(h.RecordProbe(false, "still down", clock.Now()));
  EXPECT_EQ(h.backoff(), Micros(200'000));
  EXPECT_EQ(h.next_probe(), clock.Now() + Micros(200'000));
  EXPECT_NE(h.reason().find("still down"), std::string::npos);
  EXPECT_FALSE(h.RecordProbe(false, "still down", clock.Now()));
  EXPECT_EQ(h.backoff(), Micros(350'000));  // capped
  EXPECT_FALSE(h.RecordProbe(false, "still down", clock.Now()));
  EXPECT_EQ(h.backoff(), Micros(350'000));
  clock.Advance(Micros(350'000));
  EXPECT_TRUE(h.RecordProbe(true, "", clock.Now()));
  EXPECT_FALSE(h.ejected());
  EXPECT_EQ(h.consecutive_failures(), 0);
  EXPECT_EQ(h.backoff(), Micros(100'000));
  EXPECT_TRUE(h.reason().empty());
}

TEST(DeviceHealth, FailuresWhileEjectedDoNotReEject) {
  FakeClock clock;
  DeviceHealth h(TestPolicy());
  ASSERT_TRUE(h.Eject("hang", clock.Now()));
  EXPECT_FALSE(h.RecordFailure("late", clock.Now()));
  EXPECT_EQ(h.reason(), "hang");
}

}  // namespace
}  // namespace accel
