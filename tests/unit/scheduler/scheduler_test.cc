// The whole Scheduler with simulated devices at small latencies (real time; each test well under 2 s).
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

#include "engines/sim/sim_engine.h"
#include "scheduler/device_worker.h"
#include "scheduler/scheduler.h"

namespace accel {
namespace {

using std::chrono::milliseconds;

ModelConfig DummyModel(int max_batch = 1, int delay_us = 0) {
  ModelConfig m;
  m.name = "dummy";
  m.input.width = 8;
  m.input.height = 8;
  m.input.channels = 3;
  m.outputs.push_back(OutputSpec{"out", {10}, DType::kFloat32});
  m.max_batch = max_batch;
  m.max_queue_delay_us = delay_us;
  return m;
}

std::shared_ptr<const Tensor> DummyInput() {
  auto t = std::make_shared<Tensor>(DType::kFloat32, std::vector<int64_t>{1, 3, 8, 8});
  t->Fill(0);
  return t;
}

std::unique_ptr<Engine> Sim(const std::string& spec) {
  StatusOr<SimDeviceSpec> s = ParseSimDeviceSpec(spec);
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return MakeSimEngine(*s);
}

InferenceOptions Opts(const std::string& model = "dummy", const std::string& engine = "auto",
                      std::optional<SteadyTime> deadline = std::nullopt) {
  InferenceOptions o;
  o.model = model;
  o.engine = engine;
  o.deadline = deadline;
  return o;
}

SchedulerOptions FastOptions() {
  SchedulerOptions o;
  o.probe_backoff = Micros(50'000);
  o.probe_backoff_max = Micros(100'000);
  o.execution_timeout = Micros(150'000);
  return o;
}

struct Outcome {
  std::vector<StatusOr<InferenceResult>> results;
  std::map<std::string, int> per_device;
  int errors = 0;
  double max_ms = 0;
};

// Runs `n` requests with `concurrency` outstanding (closed loop) and collects every result.
Outcome RunLoad(Scheduler& s, int n, int concurrency, InferenceOptions opts = {}) {
  if (opts.model.empty()) opts.model = "dummy";
  std::mutex mu;
  std::condition_variable cv;
  Outcome out;
  int started = 0, finished = 0, outstanding = 0;
  auto input = DummyInput();
  std::unique_lock lock(mu);
  while (finished < n) {
    while (started < n && outstanding < concurrency) {
      ++started;
      ++outstanding;
      const auto t0 = std::chrono::steady_clock::now();
      lock.unlock();
      s.Submit(opts, input, [&, t0](StatusOr<InferenceResult> r) {
        const double ms = MillisBetween(t0, std::chrono::steady_clock::now());
        std::lock_guard l(mu);
        out.max_ms = std::max(out.max_ms, ms);
        if (r.ok()) {
          ++out.per_device[r->device_id];
        } else {
          ++out.errors;
        }
        out.results.push_back(std::move(r));
        --outstanding;
        ++finished;
        cv.notify_all();
      });
      lock.lock();
    }
    cv.wait(lock, [&] { return finished == n || (started < n && outstanding < concurrency); });
  }
  return out;
}

DeviceStatus Find(const Scheduler& s, const std::string& id) {
  for (const DeviceStatus& d : s.Devices()) {
    if (d.info.id == id) return d;
  }
  ADD_FAILURE() << "no device " << id;
  return {};
}

std::string FirstError(const Outcome& o) {
  for (const auto& r : o.results) {
    if (!r.ok()) return r.status().ToString();
  }
  return "";
}

TEST(Scheduler, PlacementSpreadsLoadOverEqualDevices) {
  Scheduler s(FastOptions());
  ASSERT_TRUE(s.AddDevice(Sim("name=a,ms=3")).ok());
  ASSERT_TRUE(s.AddDevice(Sim("name=b,ms=3")).ok());
  ASSERT_TRUE(s.LoadModel(DummyModel()).ok());
  Outcome o = RunLoad(s, 60, 4);
  EXPECT_EQ(o.errors, 0) << FirstError(o);
  EXPECT_GT(o.per_device["sim:a"], 15);
  EXPECT_GT(o.per_device["sim:b"], 15);
}

TEST(Scheduler, PlacementFavoursTheFasterDevice) {
  Scheduler s(FastOptions());
  ASSERT_TRUE(s.AddDevice(Sim("name=fast,ms=1")).ok());
  ASSERT_TRUE(s.AddDevice(Sim("name=slow,ms=10")).ok());
  ASSERT_TRUE(s.LoadModel(DummyModel()).ok());
  Outcome o = RunLoad(s, 120, 6);
  EXPECT_EQ(o.errors, 0) << FirstError(o);
  EXPECT_GT(o.per_device["sim:fast"], 3 * o.per_device["sim:slow"]);
}

TEST(Scheduler, ResultCarriesDeviceAndSimulationFlag) {
  Scheduler s(FastOptions());
  ASSERT_TRUE(s.AddDevice(Sim("name=h,kind=hailo,ms=1")).ok());
  ASSERT_TRUE(s.LoadModel(DummyModel()).ok());
  StatusOr<InferenceResult> r = s.Run(Opts(), DummyInput());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->device_id, "sim:h");
  EXPECT_EQ(r->engine_kind, "hailo");
  EXPECT_TRUE(r->simulated);
  EXPECT_EQ(r->attempts, 1);
  EXPECT_EQ(r->batch_size, 1);
  EXPECT_GE(r->compute_ms, 0.9);
  ASSERT_EQ(r->outputs.size(), 1u);
  EXPECT_EQ(r->outputs[0].shape(), (std::vector<int64_t>{1, 10}));
  EXPECT_EQ(r->outputs[0].data<float>()[9], 0.0f);
}

TEST(Scheduler, ExplicitEngineKindUsesOnlyThatKind) {
  Scheduler s(FastOptions());
  ASSERT_TRUE(s.AddDevice(Sim("name=h,kind=hailo,ms=1")).ok());
  ASSERT_TRUE(s.AddDevice(Sim("name=n,kind=nvidia,ms=1")).ok());
  ASSERT_TRUE(s.LoadModel(DummyModel()).ok());
  InferenceOptions opts = Opts("dummy", "nvidia");
  Outcome o = RunLoad(s, 20, 4, opts);
  EXPECT_EQ(o.errors, 0);
  EXPECT_EQ(o.per_device["sim:n"], 20);
  opts.engine = "cpu";
  StatusOr<InferenceResult> r = s.Run(opts, DummyInput());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  opts.engine = "sim";  // every simulated device matches "sim"
  EXPECT_TRUE(s.Run(opts, DummyInput()).ok());
}

TEST(Scheduler, FallbackEngineWhenRequestedKindHasNoReadyDevice) {
  SchedulerOptions o = FastOptions();
  o.fallback_engine = "hailo";
  Scheduler s(o);
  ASSERT_TRUE(s.AddDevice(Sim("name=h,kind=hailo,ms=1")).ok());
  ASSERT_TRUE(s.LoadModel(DummyModel()).ok());
  StatusOr<InferenceResult> r = s.Run(Opts("dummy", "nvidia"), DummyInput());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->device_id, "sim:h");
}

TEST(Scheduler, DefaultEngineAppliesWhenRequestNamesNone) {
  SchedulerOptions o = FastOptions();
  o.default_engine = "nvidia";
  Scheduler s(o);
  ASSERT_TRUE(s.AddDevice(Sim("name=h,kind=hailo,ms=1")).ok());
  ASSERT_TRUE(s.AddDevice(Sim("name=n,kind=nvidia,ms=1")).ok());
  ASSERT_TRUE(s.LoadModel(DummyModel()).ok());
  Outcome out = RunLoad(s, 10, 2, Opts("dummy", ""));
  EXPECT_EQ(out.per_device["sim:n"], 10);
}

TEST(Scheduler, UnknownModelIsNotFoundAndBadInputInvalid) {
  Scheduler s(FastOptions());
  ASSERT_TRUE(s.AddDevice(Sim("name=a,ms=1")).ok());
  ASSERT_TRUE(s.LoadModel(DummyModel()).ok());
  EXPECT_EQ(s.Run(Opts("nope"), DummyInput()).status().code(), StatusCode::kNotFound);
  auto wrong = std::make_shared<Tensor>(DType::kFloat32, std::vector<int64_t>{1, 3, 4, 4});
  EXPECT_EQ(s.Run(Opts(), wrong).status().code(), StatusCode::kInvalidArgument);
}

TEST(Scheduler, NoDeviceForModelIsUnavailable) {
  Scheduler s(FastOptions());
  EXPECT_EQ(s.LoadModel(DummyModel()).code(), StatusCode::kUnavailable);
}

TEST(Scheduler, FullQueuesAnswerResourceExhaustedAtOnce) {
  SchedulerOptions o = FastOptions();
  o.queue_capacity = 2;
  o.execution_timeout = Micros(2'000'000);
  Scheduler s(o);
  ASSERT_TRUE(s.AddDevice(Sim("name=a,ms=150")).ok());
  ASSERT_TRUE(s.LoadModel(DummyModel()).ok());
  std::atomic<int> exhausted{0}, ok{0};
  std::atomic<int> inline_rejects{0};
  for (int i = 0; i < 6; ++i) {
    bool returned = false;
    s.Submit(Opts(), DummyInput(), [&](StatusOr<InferenceResult> r) {
      if (r.ok()) {
        ++ok;
      } else if (r.status().code() == StatusCode::kResourceExhausted) {
        ++exhausted;
        if (!returned) ++inline_rejects;
      }
    });
    returned = true;
  }
  // At most 1 in flight + 2 queued are accepted.
  EXPECT_GE(exhausted.load(), 3);
  EXPECT_EQ(inline_rejects.load(), exhausted.load());
  s.Shutdown();
}

TEST(Scheduler, ExpiredDeadlinesAreAnsweredWithoutReachingTheDevice) {
  Scheduler s(FastOptions());
  ASSERT_TRUE(s.AddDevice(Sim("name=a,ms=100")).ok());
  ASSERT_TRUE(s.LoadModel(DummyModel()).ok());
  const auto past = std::chrono::steady_clock::now() - milliseconds(1);
  EXPECT_EQ(s.Run(Opts("dummy", "auto", past), DummyInput()).status().code(), StatusCode::kDeadlineExceeded);
  // One request occupies the device for 100 ms; the next expires in the queue after 20 ms.
  std::atomic<bool> first_done{false};
  s.Submit(Opts(), DummyInput(), [&](StatusOr<InferenceResult> r) { first_done = true; });
  const auto t0 = std::chrono::steady_clock::now();
  StatusOr<InferenceResult> r = s.Run(Opts("dummy", "auto", t0 + milliseconds(20)), DummyInput());
  const double ms = MillisBetween(t0, std::chrono::steady_clock::now());
  EXPECT_EQ(r.status().code(), StatusCode::kDeadlineExceeded);
  EXPECT_LT(ms, 80);
  const auto stats_before = Find(s, "sim:a").stats.batches_executed;
  EXPECT_LE(stats_before, 2u);  // the warmup does not count; the first request does
}

TEST(Scheduler, FailAfterCostsNoClientErrors) {
  Scheduler s(FastOptions());
  ASSERT_TRUE(s.AddDevice(Sim("name=a,ms=2,fail_after=5")).ok());
  ASSERT_TRUE(s.AddDevice(Sim("name=b,ms=2")).ok());
  ASSERT_TRUE(s.LoadModel(DummyModel()).ok());
  Outcome o = RunLoad(s, 80, 4);
  EXPECT_EQ(o.errors, 0) << FirstError(o);
  DeviceStatus a = Find(s, "sim:a");
  EXPECT_TRUE(a.ejected);
  EXPECT_NE(a.ejected_reason.find("fail_after=5"), std::string::npos) << a.ejected_reason;
  EXPECT_EQ(a.health.state, HealthState::kFailed);
  bool retried = false;
  for (const auto& r : o.results) retried |= r.ok() && r->attempts > 1;
  EXPECT_TRUE(retried);
  std::vector<ModelStatus> models = s.Models();
  ASSERT_EQ(models.size(), 1u);
  EXPECT_TRUE(models[0].ready);
}

TEST(Scheduler, HangAfterIsRetriedWithinExecutionTimeout) {
  Scheduler s(FastOptions());  // execution timeout 150 ms
  ASSERT_TRUE(s.AddDevice(Sim("name=a,ms=2,hang_after=3")).ok());
  ASSERT_TRUE(s.AddDevice(Sim("name=b,ms=2")).ok());
  ASSERT_TRUE(s.LoadModel(DummyModel()).ok());
  Outcome o = RunLoad(s, 40, 3);
  EXPECT_EQ(o.errors, 0) << FirstError(o);
  EXPECT_LT(o.max_ms, 150 + 60);
  DeviceStatus a = Find(s, "sim:a");
  EXPECT_TRUE(a.ejected);
  EXPECT_TRUE(a.ejected_reason.find("execution timeout") != std::string::npos ||
              a.ejected_reason.find("hang_after") != std::string::npos)
      << a.ejected_reason;
}

TEST(Scheduler, EjectedDeviceRejoinsAfterRecoveryAndProbe) {
  Scheduler s(FastOptions());  // probe back-off 50 ms, cap 100 ms
  ASSERT_TRUE(s.AddDevice(Sim("name=a,ms=2,fail_after=3,recover_after_ms=150")).ok());
  ASSERT_TRUE(s.AddDevice(Sim("name=b,ms=2")).ok());
  ASSERT_TRUE(s.LoadModel(DummyModel()).ok());
  Outcome first = RunLoad(s, 30, 2);
  EXPECT_EQ(first.errors, 0) << FirstError(first);
  ASSERT_TRUE(Find(s, "sim:a").ejected);
  const auto until = std::chrono::steady_clock::now() + milliseconds(1500);
  while (Find(s, "sim:a").ejected && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(milliseconds(10));
  }
  ASSERT_FALSE(Find(s, "sim:a").ejected);
  const uint64_t before = Find(s, "sim:a").completed;
  Outcome second = RunLoad(s, 40, 4);
  EXPECT_EQ(second.errors, 0) << FirstError(second);
  EXPECT_GT(Find(s, "sim:a").completed, before);
}

TEST(Scheduler, AllDevicesOutMeansModelNotReady) {
  SchedulerOptions o = FastOptions();
  o.max_attempts = 2;
  Scheduler s(o);
  ASSERT_TRUE(s.AddDevice(Sim("name=a,ms=1,fail_after=0")).ok());
  ASSERT_TRUE(s.LoadModel(DummyModel()).ok());
  StatusOr<InferenceResult> r = s.Run(Opts(), DummyInput());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  // The client's answer may come before the batch's failure is booked; the booking follows at once.
  const auto until = std::chrono::steady_clock::now() + milliseconds(500);
  while (!Find(s, "sim:a").ejected && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(milliseconds(1));
  }
  EXPECT_TRUE(Find(s, "sim:a").ejected);
  EXPECT_FALSE(s.Models()[0].ready);
  EXPECT_EQ(s.Run(Opts(), DummyInput()).status().code(), StatusCode::kUnavailable);
}

TEST(Scheduler, LoadBalancingOffUsesTheBestDeviceByPriority) {
  SchedulerOptions o = FastOptions();
  o.load_balancing = false;
  o.device_priority = {"sim:b"};
  Scheduler s(o);
  ASSERT_TRUE(s.AddDevice(Sim("name=a,ms=1")).ok());
  ASSERT_TRUE(s.AddDevice(Sim("name=b,ms=1")).ok());
  ASSERT_TRUE(s.LoadModel(DummyModel()).ok());
  Outcome out = RunLoad(s, 30, 4);
  EXPECT_EQ(out.errors, 0);
  EXPECT_EQ(out.per_device["sim:b"], 30);
}

TEST(Scheduler, RoundRobinAlternatesRegardlessOfSpeed) {
  SchedulerOptions o = FastOptions();
  o.round_robin = true;
  Scheduler s(o);
  ASSERT_TRUE(s.AddDevice(Sim("name=a,ms=1")).ok());
  ASSERT_TRUE(s.AddDevice(Sim("name=b,ms=8")).ok());
  ASSERT_TRUE(s.LoadModel(DummyModel()).ok());
  Outcome out = RunLoad(s, 40, 1);
  EXPECT_EQ(out.per_device["sim:a"], 20);
  EXPECT_EQ(out.per_device["sim:b"], 20);
}

TEST(Scheduler, DynamicBatchingGroupsConcurrentRequests) {
  Scheduler s(FastOptions());
  ASSERT_TRUE(s.AddDevice(Sim("name=a,ms=20,per_item_ms=1,max_batch=8")).ok());
  ASSERT_TRUE(s.LoadModel(DummyModel(8, 5000)).ok());
  Outcome out = RunLoad(s, 32, 16);
  EXPECT_EQ(out.errors, 0) << FirstError(out);
  int max_batch = 0;
  for (const auto& r : out.results) max_batch = std::max(max_batch, r.ok() ? r->batch_size : 0);
  EXPECT_EQ(max_batch, 8);
}

TEST(Scheduler, DeviceOptionOverridesModelBatchSize) {
  Scheduler s(FastOptions());
  ASSERT_TRUE(s.AddDevice(Sim("name=a,ms=20,max_batch=8"), DeviceOptions{2, -1}).ok());
  ASSERT_TRUE(s.LoadModel(DummyModel(8, 5000)).ok());
  Outcome out = RunLoad(s, 16, 8);
  EXPECT_EQ(out.errors, 0) << FirstError(out);
  for (const auto& r : out.results) EXPECT_LE(r->batch_size, 2);
}

// An engine that answers every item at once with outputs of a wrong batch dimension.
class WrongShapeEngine : public Engine {
 public:
  WrongShapeEngine() {
    info_.id = "fake:wrong";
    info_.kind = "fake";
    info_.simulated = true;
  }
  const DeviceInfo& device() const override { return info_; }
  EngineCapabilities capabilities() const override { return {}; }
  bool Supports(const ModelConfig&) const override { return true; }
  Status Load(const ModelConfig&) override { return Status::Ok(); }
  Status Unload(const std::string&) override { return Status::Ok(); }
  Status Warmup(const std::string&, int) override { return Status::Ok(); }
  Status Submit(Batch& batch) override {
    for (BatchItem& item : batch.items) {
      TensorList out;
      out.emplace_back(DType::kFloat32, std::vector<int64_t>{2, 10});
      item.done(std::move(out));
    }
    return Status::Ok();
  }
  EngineHealth Health() const override { return {}; }
  EngineStats Stats() const override { return {}; }
  void Shutdown() override {}

 private:
  DeviceInfo info_;
};

TEST(Scheduler, WrongOutputShapeFailsTheItemsAndIsRetriedElsewhere) {
  SchedulerOptions o = FastOptions();
  o.device_priority = {"fake:wrong"};
  Scheduler s(o);
  ASSERT_TRUE(s.AddDevice(std::make_unique<WrongShapeEngine>()).ok());
  ASSERT_TRUE(s.LoadModel(DummyModel()).ok());
  StatusOr<InferenceResult> r = s.Run(Opts(), DummyInput());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("output shape mismatch"), std::string::npos) << r.status().ToString();

  ASSERT_TRUE(s.AddDevice(Sim("name=good,ms=1")).ok());
  ASSERT_TRUE(s.LoadModel(DummyModel()).ok());
  Outcome out = RunLoad(s, 10, 1);
  EXPECT_EQ(out.errors, 0) << FirstError(out);
  EXPECT_EQ(out.per_device["sim:good"], 10);
}

TEST(CheckItemOutputs, AcceptsMatchingAndRejectsWrongShapes) {
  ModelConfig m = DummyModel();
  TensorList good;
  good.emplace_back(DType::kFloat32, std::vector<int64_t>{1, 10});
  EXPECT_TRUE(CheckItemOutputs(m, good).ok());
  TensorList batch2;
  batch2.emplace_back(DType::kFloat32, std::vector<int64_t>{2, 10});
  EXPECT_FALSE(CheckItemOutputs(m, batch2).ok());
  TensorList wrong_dim;
  wrong_dim.emplace_back(DType::kFloat32, std::vector<int64_t>{1, 11});
  EXPECT_FALSE(CheckItemOutputs(m, wrong_dim).ok());
  EXPECT_FALSE(CheckItemOutputs(m, TensorList{}).ok());
}

}  // namespace
}  // namespace accel
