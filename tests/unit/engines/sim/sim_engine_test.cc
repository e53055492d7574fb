#include "engines/sim/sim_engine.h"

#include <gtest/gtest.h>

#include <atomic>
#include <ctime>
#include <future>
#include <thread>

#include "core/clock.h"

namespace accel {
namespace {

using std::chrono::milliseconds;

ModelConfig Model() {
  ModelConfig m;
  m.name = "m";
  m.input.width = 4;
  m.input.height = 4;
  m.outputs.push_back(OutputSpec{"a", {5, -1}, DType::kFloat32});
  m.outputs.push_back(OutputSpec{"b", {2}, DType::kInt32});
  return m;
}

std::shared_ptr<const Tensor> Input() {
  auto t = std::make_shared<Tensor>(DType::kFloat32, std::vector<int64_t>{1, 3, 4, 4});
  t->Fill(0);
  return t;
}

// Submits a batch of n and waits for every item's result.
std::vector<StatusOr<TensorList>> RunBatch(Engine& e, int n, Status* submit = nullptr) {
  auto results = std::make_shared<std::vector<std::promise<StatusOr<TensorList>>>>(n);
  Batch b;
  b.model = "m";
  for (int i = 0; i < n; ++i) {
    b.items.push_back(
        BatchItem{Input(), [results, i](StatusOr<TensorList> r) { (*results)[i].set_value(std::move(r)); }});
  }
  Status s = e.Submit(b);
  if (submit) *submit = s;
  std::vector<StatusOr<TensorList>> out;
  if (!s.ok()) return out;
  for (auto& p : *results) {
    auto f = p.get_future();
    if (f.wait_for(milliseconds(300)) != std::future_status::ready) {
      out.push_back(DeadlineExceeded("no answer"));
    } else {
      out.push_back(f.get());
    }
  }
  return out;
}

TEST(SimSpec, ParsesEveryKey) {
  StatusOr<SimDeviceSpec> s = ParseSimDeviceSpec(
      "name=hailo-a,kind=hailo,ms=4,per_item_ms=0.5,max_batch=8,fail_after=10,fail_rate=0.1,"
      "hang_after=20,recover_after_ms=300");
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->name, "hailo-a");
  EXPECT_EQ(s->kind, "hailo");
  EXPECT_DOUBLE_EQ(s->ms, 4);
  EXPECT_DOUBLE_EQ(s->per_item_ms, 0.5);
  EXPECT_EQ(s->max_batch, 8);
  EXPECT_EQ(s->fail_after, 10);
  EXPECT_DOUBLE_EQ(s->fail_rate, 0.1);
  EXPECT_EQ(s->hang_after, 20);
  EXPECT_DOUBLE_EQ(s->recover_after_ms, 300);
}

TEST(SimSpec, RejectsBadSpecs) {
  EXPECT_FALSE(ParseSimDeviceSpec("ms=4").ok());            // no name
  EXPECT_FALSE(ParseSimDeviceSpec("name=a,ms=x").ok());     // not a number
  EXPECT_FALSE(ParseSimDeviceSpec("name=a,speed=4").ok());  // unknown key
  EXPECT_FALSE(ParseSimDeviceSpec("name=a,max_batch=0").ok());
  EXPECT_FALSE(ParseSimDeviceSpec("name=a,fail_rate=2").ok());
  EXPECT_FALSE(ParseSimDeviceSpec("name=a,ms=1,ms=2").ok());
  EXPECT_FALSE(ParseSimDeviceSpec("name=a b").ok());
  EXPECT_FALSE(MakeSimEngineFactory({"name=a", "name=a"}).ok());
}

TEST(SimEngine, IsLabelledASimulationEverywhere) {
  auto factory = MakeSimEngineFactory({"name=hailo-a,kind=hailo,ms=4"});
  ASSERT_TRUE(factory.ok());
  EXPECT_EQ((*factory)->kind(), "sim");
  ProbeResult probe = (*factory)->Probe();
  ASSERT_EQ(probe.devices.size(), 1u);
  const DeviceInfo& d = probe.devices[0];
  EXPECT_EQ(d.id, "sim:hailo-a");
  EXPECT_EQ(d.kind, "hailo");
  EXPECT_TRUE(d.simulated);
  EXPECT_EQ(d.name, "Simulated hailo (hailo-a)");
  EXPECT_EQ(d.properties.at("simulated"), "true");
  auto engine = (*factory)->Create(d, {});
  ASSERT_TRUE(engine.ok());
  EXPECT_TRUE((*engine)->device().simulated);
}

TEST(SimEngine, ReturnsZeroOutputsOfTheModelShapeAfterTheModelledLatency) {
  auto e = MakeSimEngine(*ParseSimDeviceSpec("name=a,ms=20,per_item_ms=5,max_batch=4"));
  ASSERT_TRUE(e->Load(Model()).ok());
  const auto t0 = std::chrono::steady_clock::now();
  auto results = RunBatch(*e, 4);
  const double ms = MillisBetween(t0, std::chrono::steady_clock::now());
  EXPECT_GE(ms, 39);  // 20 + 4 x 5
  EXPECT_LT(ms, 200);
  ASSERT_EQ(results.size(), 4u);
  for (auto& r : results) {
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    ASSERT_EQ(r->size(), 2u);
    EXPECT_EQ((*r)[0].shape(), (std::vector<int64_t>{1, 5, 1}));
    EXPECT_EQ((*r)[1].shape(), (std::vector<int64_t>{1, 2}));
    EXPECT_EQ((*r)[1].dtype(), DType::kInt32);
    for (int i = 0; i < 5; ++i) EXPECT_EQ((*r)[0].data<float>()[i], 0.0f);
  }
  EXPECT_EQ(e->Stats().items_executed, 4u);
  Status s;
  RunBatch(*e, 5, &s);
  EXPECT_FALSE(s.ok());  // over max_batch: not taken
}

TEST(SimEngine, FailAfterFailsLaterCallsAndRecovers) {
  auto e = MakeSimEngine(*ParseSimDeviceSpec("name=a,ms=1,fail_after=2,recover_after_ms=100"));
  ASSERT_TRUE(e->Load(Model()).ok());
  EXPECT_TRUE(RunBatch(*e, 1)[0].ok());
  EXPECT_TRUE(RunBatch(*e, 1)[0].ok());
  EXPECT_EQ(e->Health().state, HealthState::kReady);
  auto third = RunBatch(*e, 1);
  ASSERT_FALSE(third[0].ok());
  EXPECT_EQ(e->Health().state, HealthState::kFailed);
  EXPECT_NE(e->Health().reason.find("fail_after=2"), std::string::npos);
  EXPECT_FALSE(e->Warmup("m", 1).ok());
  std::this_thread::sleep_for(milliseconds(110));
  EXPECT_EQ(e->Health().state, HealthState::kReady);
  EXPECT_TRUE(e->Warmup("m", 1).ok());
  EXPECT_TRUE(RunBatch(*e, 1)[0].ok());
}

TEST(SimEngine, HangAfterNeverCompletesUntilShutdown) {
  auto e = MakeSimEngine(*ParseSimDeviceSpec("name=a,ms=1,hang_after=0"));
  ASSERT_TRUE(e->Load(Model()).ok());
  std::promise<StatusOr<TensorList>> p;
  auto f = p.get_future();
  Batch b;
  b.model = "m";
  b.items.push_back(BatchItem{Input(), [&p](StatusOr<TensorList> r) { p.set_value(std::move(r)); }});
  ASSERT_TRUE(e->Submit(b).ok());
  EXPECT_EQ(f.wait_for(milliseconds(50)), std::future_status::timeout);
  EXPECT_EQ(e->Health().state, HealthState::kFailed);
  e->Shutdown();
  ASSERT_EQ(f.wait_for(milliseconds(0)), std::future_status::ready);
  EXPECT_FALSE(f.get().ok());
}

TEST(SimEngine, FailRateOneFailsEveryCallWithoutStickyFault) {
  auto e = MakeSimEngine(*ParseSimDeviceSpec("name=a,ms=1,fail_rate=1"));
  ASSERT_TRUE(e->Load(Model()).ok());
  EXPECT_FALSE(RunBatch(*e, 1)[0].ok());
  EXPECT_EQ(e->Health().state, HealthState::kReady);
}

TEST(SimEngine, ManySimulatedBatchesCostNoCpu) {
  auto e = MakeSimEngine(*ParseSimDeviceSpec("name=a,ms=100"));
  ASSERT_TRUE(e->Load(Model()).ok());
  const std::clock_t c0 = std::clock();
  RunBatch(*e, 1);
  const double cpu_ms = 1000.0 * (std::clock() - c0) / CLOCKS_PER_SEC;
  EXPECT_LT(cpu_ms, 20);
}

}  // namespace
}  // namespace accel
