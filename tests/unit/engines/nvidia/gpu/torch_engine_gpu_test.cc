// The nvidia engine on real CUDA GPUs. Labelled `gpu` in CTest; every test skips when no GPU is visible.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "engines/nvidia/torch_engine.h"
#include "nvidia_test_support.h"
#include "scheduler/scheduler.h"

namespace accel {
namespace {

std::string FirstGpu() {
  ProbeResult probe = MakeTorchEngineFactory(false)->Probe();
  for (const DeviceInfo& device : probe.devices) {
    if (!device.test_only) return device.id;
  }
  return {};
}

#define REQUIRE_GPU()                                                                                \
  std::string gpu = FirstGpu();                                                                      \
  if (gpu.empty()) {                                                                                 \
    GTEST_SKIP() << "no CUDA device: " << MakeTorchEngineFactory(false)->Probe().unavailable_reason; \
  }

TEST(TorchEngineGpu, ProbeReportsIdentity) {
  REQUIRE_GPU();
  ProbeResult probe = MakeTorchEngineFactory(false)->Probe();
  for (const DeviceInfo& device : probe.devices) {
    EXPECT_EQ(device.kind, "nvidia");
    EXPECT_FALSE(device.test_only);
    EXPECT_FALSE(device.name.empty());
    EXPECT_EQ(device.properties.at("is_available"), "true");
    std::cout << "[ gpu      ] " << device.id << ": " << device.name;
    for (const auto& [key, value] : device.properties) std::cout << " " << key << "=" << value;
    std::cout << std::endl;
  }
}

TEST(TorchEngineGpu, BatchesOf1And8And32) {
  REQUIRE_GPU();
  ASSERT_TRUE(nvidia_test::MissingModelMessage().empty()) << nvidia_test::MissingModelMessage();
  auto config = nvidia_test::YoloxConfig();
  ASSERT_TRUE(config.ok());
  auto factory = MakeTorchEngineFactory(false);
  auto engine = nvidia_test::CreateEngine(*factory, gpu);
  ASSERT_TRUE(engine.ok()) << engine.status().ToString();
  ASSERT_TRUE((*engine)->Load(*config).ok());
  for (int n : {1, 8, 32}) {
    std::vector<std::shared_ptr<const Tensor>> inputs;
    for (int i = 0; i < n; ++i) inputs.push_back(nvidia_test::PatternInput(static_cast<uint32_t>(i)));
    auto results = nvidia_test::RunBatch(**engine, config->name, inputs);
    ASSERT_TRUE(results.ok()) << results.status().ToString();
    for (const auto& item : *results) {
      ASSERT_TRUE(item.ok()) << item.status().ToString();
      EXPECT_EQ((*item)[0].shape(), (std::vector<int64_t>{1, 3549, 85}));
    }
  }
  EXPECT_EQ((*engine)->Health().state, HealthState::kReady);
  EngineStats stats = (*engine)->Stats();
  EXPECT_EQ(stats.items_executed, 41u);
}

TEST(TorchEngineGpu, CudaMatchesCpuEngine) {
  REQUIRE_GPU();
  ASSERT_TRUE(nvidia_test::MissingModelMessage().empty()) << nvidia_test::MissingModelMessage();
  auto factory = MakeTorchEngineFactory(false);
  EXPECT_GE(nvidia_test::CheckAgainstCpuEngine(*factory, gpu), 0);
}

// The AOTInductor package (.pt2) compiled on this machine for this GPU, against the cpu engine: the same
// differential test as the TorchScript module's.
TEST(TorchEngineGpu, Pt2MatchesCpuEngine) {
  REQUIRE_GPU();
  auto config = nvidia_test::YoloxPt2Config();
  if (!config.ok()) GTEST_SKIP() << config.status().ToString();
  auto factory = MakeTorchEngineFactory(false);
  EXPECT_GE(nvidia_test::CheckAgainstCpuEngine(*factory, gpu, {}, &*config), 0);
}

// CUDA against libtorch on the CPU (the CPU test device): same library, same TorchScript, other device.
// Independent of OpenCV, so it still says something where the cpu engine differs for its own reasons.
TEST(TorchEngineGpu, CudaMatchesLibtorchCpu) {
  REQUIRE_GPU();
  ASSERT_TRUE(nvidia_test::MissingModelMessage().empty()) << nvidia_test::MissingModelMessage();
  auto factory = MakeTorchEngineFactory(true);
  EXPECT_GE(nvidia_test::CheckAgainstEngine(*factory, gpu, *factory, "nvidia-cpu:0"), 0);
}

constexpr char kCpuTestDevice[] = "nvidia-cpu:0";

// A real sticky CUDA error, raised while a batch runs (the fault model's device-side assert): that batch's
// items get UNAVAILABLE, the GPU reports failed with the CUDA error as its reason and refuses further work
// (leaving it with the caller), while another device of the same process, the CPU test device, keeps
// serving and agrees with what the GPU computed before it failed. Each test is its own process under
// CTest, so the poisoned CUDA context ends with this test.
TEST(TorchEngineGpu, StickyCudaErrorFailsOnlyThatDevice) {
  REQUIRE_GPU();
  ASSERT_TRUE(nvidia_test::MissingModelMessage().empty()) << nvidia_test::MissingModelMessage();
  auto fault = nvidia_test::CudaFaultConfig();
  if (!fault.ok()) GTEST_SKIP() << fault.status().ToString();
  auto yolox = nvidia_test::YoloxConfig();
  ASSERT_TRUE(yolox.ok()) << yolox.status().ToString();
  auto factory = MakeTorchEngineFactory(true);
  auto engine = nvidia_test::CreateEngine(*factory, gpu);
  auto other = nvidia_test::CreateEngine(*factory, kCpuTestDevice);
  ASSERT_TRUE(engine.ok()) << engine.status().ToString();
  ASSERT_TRUE(other.ok()) << other.status().ToString();
  Engine& failing = **engine;
  Engine& healthy = **other;
  ASSERT_TRUE(failing.Load(*yolox).ok());
  ASSERT_TRUE(failing.Load(*fault).ok());  // Load runs nothing: the fault comes with the first batch
  ASSERT_TRUE(healthy.Load(*yolox).ok());

  auto before = nvidia_test::RunBatch(failing, yolox->name, {nvidia_test::PatternInput(5)});
  ASSERT_TRUE(before.ok() && (*before)[0].ok());

  auto faulted = nvidia_test::RunBatch(failing, fault->name,
                                       {nvidia_test::PatternInput(1), nvidia_test::PatternInput(2)});
  ASSERT_TRUE(faulted.ok()) << faulted.status().ToString();
  for (const auto& item : *faulted) {
    EXPECT_EQ(item.status().code(), StatusCode::kUnavailable) << item.status().ToString();
  }
  EngineHealth health = failing.Health();
  EXPECT_EQ(health.state, HealthState::kFailed);
  EXPECT_NE(health.reason.find("CUDA error"), std::string::npos) << health.reason;
  std::cout << "[ sticky   ] " << gpu << " " << HealthStateName(health.state) << ": " << health.reason
            << std::endl;

  // The failed GPU refuses new work and leaves it with the caller, also for the model that was fine.
  Batch refused;
  refused.model = yolox->name;
  refused.items.push_back(BatchItem{nvidia_test::PatternInput(5), [](StatusOr<TensorList>) {}});
  EXPECT_EQ(failing.Submit(refused).code(), StatusCode::kUnavailable);
  EXPECT_EQ(refused.items.size(), 1u);
  EXPECT_EQ(failing.Health().state, HealthState::kFailed);

  auto after = nvidia_test::RunBatch(healthy, yolox->name, {nvidia_test::PatternInput(5)});
  ASSERT_TRUE(after.ok() && (*after)[0].ok());
  EXPECT_EQ(healthy.Health().state, HealthState::kReady) << healthy.Health().reason;
  EXPECT_LE(nvidia_test::MaxAbsDiff((*(*after)[0])[0], (*(*before)[0])[0]), 1e-3);
}

// The same fault through the service's scheduler, at load: the scheduler warms every model up on every
// device, and the fault model's warm-up poisons the GPU. The GPU leaves rotation; the CPU test device
// (which only gets an index error from that model) stays in it and serves the default model.
TEST(TorchEngineGpu, SchedulerEjectsOnlyTheFailedGpu) {
  REQUIRE_GPU();
  ASSERT_TRUE(nvidia_test::MissingModelMessage().empty()) << nvidia_test::MissingModelMessage();
  auto fault = nvidia_test::CudaFaultConfig();
  if (!fault.ok()) GTEST_SKIP() << fault.status().ToString();
  auto yolox = nvidia_test::YoloxConfig();
  ASSERT_TRUE(yolox.ok()) << yolox.status().ToString();
  auto factory = MakeTorchEngineFactory(true);
  SchedulerOptions options;
  options.load_balancing = false;  // everything to the GPU while it is in rotation
  options.device_priority = {gpu};
  options.execution_timeout = Micros(60'000'000);  // a CPU batch on a busy host is not a failure
  Scheduler scheduler(options);
  for (const std::string& id : {gpu, std::string(kCpuTestDevice)}) {
    auto engine = nvidia_test::CreateEngine(*factory, id);
    ASSERT_TRUE(engine.ok()) << engine.status().ToString();
    ASSERT_TRUE(scheduler.AddDevice(std::move(engine).value()).ok());
  }
  ASSERT_TRUE(scheduler.LoadModel(*yolox).ok());
  InferenceOptions request;
  request.model = yolox->name;
  request.engine = "nvidia";
  auto before = scheduler.Run(request, nvidia_test::PatternInput(7));
  ASSERT_TRUE(before.ok()) << before.status().ToString();
  EXPECT_EQ(before->device_id, gpu);

  Status loaded = scheduler.LoadModel(*fault);
  EXPECT_FALSE(loaded.ok()) << "the fault model's warm-up should fail on both devices";
  std::cout << "[ sticky   ] scheduler: load of " << fault->name << ": " << loaded.ToString() << std::endl;

  auto after = scheduler.Run(request, nvidia_test::PatternInput(7));
  ASSERT_TRUE(after.ok()) << after.status().ToString();
  EXPECT_EQ(after->device_id, kCpuTestDevice);
  EXPECT_LE(nvidia_test::MaxAbsDiff(after->outputs[0], before->outputs[0]), 1e-3);

  // The health poll takes the failed GPU out of rotation; give it a moment.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  bool ejected = false;
  while (!ejected && std::chrono::steady_clock::now() < deadline) {
    for (const DeviceStatus& d : scheduler.Devices()) ejected |= d.info.id == gpu && d.ejected;
    if (!ejected) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  for (const DeviceStatus& d : scheduler.Devices()) {
    std::cout << "[ sticky   ] scheduler: " << d.info.id << " " << HealthStateName(d.health.state)
              << (d.ejected ? " ejected" : "") << " " << d.health.reason << std::endl;
    if (d.info.id == gpu) {
      EXPECT_EQ(d.health.state, HealthState::kFailed);
      EXPECT_NE(d.health.reason.find("CUDA error"), std::string::npos) << d.health.reason;
      EXPECT_TRUE(d.ejected);
    } else {
      EXPECT_EQ(d.health.state, HealthState::kReady) << d.health.reason;
      EXPECT_FALSE(d.ejected) << d.ejected_reason;
    }
  }
  scheduler.Shutdown();
}

}  // namespace
}  // namespace accel
