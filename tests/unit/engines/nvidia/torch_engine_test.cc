// The nvidia engine in CPU test mode ("nvidia-cpu:0"): the whole engine code path on Debian's CPU-only
// libtorch. These tests need the converted model and fail (not skip) without it.
#include "engines/nvidia/torch_engine.h"

#include <gtest/gtest.h>

#include "nvidia_test_support.h"

namespace accel {
namespace {

using nvidia_test::CreateEngine;
using nvidia_test::PatternInput;
using nvidia_test::RunBatch;

constexpr char kCpuDevice[] = "nvidia-cpu:0";

class TorchEngineCpu : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string missing = nvidia_test::MissingModelMessage();
    ASSERT_TRUE(missing.empty()) << missing;
    auto config = nvidia_test::YoloxConfig();
    ASSERT_TRUE(config.ok()) << config.status().ToString();
    config_ = std::move(config).value();
    factory_ = MakeTorchEngineFactory(true);
  }

  std::unique_ptr<Engine> LoadedEngine(const EngineOptions& options = {}) {
    auto engine = CreateEngine(*factory_, kCpuDevice, options);
    EXPECT_TRUE(engine.ok()) << engine.status().ToString();
    if (!engine.ok()) return nullptr;
    Status loaded = (*engine)->Load(config_);
    EXPECT_TRUE(loaded.ok()) << loaded.ToString();
    return loaded.ok() ? std::move(engine).value() : nullptr;
  }

  ModelConfig config_;
  std::unique_ptr<EngineFactory> factory_;
};

TEST(TorchEngineProbe, CpuTestDeviceIsMarkedAsTestOnly) {
  auto factory = MakeTorchEngineFactory(true);
  EXPECT_EQ(factory->kind(), "nvidia");
  ProbeResult probe = factory->Probe();
  const DeviceInfo* cpu = nullptr;
  for (const DeviceInfo& device : probe.devices) {
    EXPECT_EQ(device.kind, "nvidia");
    if (device.id == kCpuDevice) cpu = &device;
    if (device.id != kCpuDevice) {
      // A real GPU: identity and availability must be there.
      EXPECT_FALSE(device.test_only);
      EXPECT_EQ(device.properties.count("index"), 1u);
      EXPECT_EQ(device.properties.at("is_available"), "true");
    }
  }
  ASSERT_NE(cpu, nullptr);
  EXPECT_TRUE(cpu->test_only);
  EXPECT_FALSE(cpu->simulated);
  EXPECT_EQ(cpu->name, "libtorch CPU (test mode, not a GPU)");
  EXPECT_EQ(cpu->properties.at("mode"), "cpu-test");
}

TEST(TorchEngineProbe, WithoutCpuDeviceOnlyGpusAreListed) {
  auto factory = MakeTorchEngineFactory(false);
  ProbeResult probe = factory->Probe();
  for (const DeviceInfo& device : probe.devices) {
    EXPECT_NE(device.id, kCpuDevice);
    EXPECT_FALSE(device.test_only);
  }
  if (probe.devices.empty()) {
    EXPECT_FALSE(probe.unavailable_reason.empty());
  }
  DeviceInfo fake;
  fake.id = kCpuDevice;
  fake.kind = "nvidia";
  EXPECT_FALSE(factory->Create(fake, {}).ok());
}

TEST(TorchEngineProbe, RejectsUnknownDevicesAndBadOptions) {
  auto factory = MakeTorchEngineFactory(true);
  DeviceInfo gpu;
  gpu.id = "nvidia:99";
  auto missing = factory->Create(gpu, {});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  DeviceInfo other;
  other.id = "cpu:0";
  EXPECT_FALSE(factory->Create(other, {}).ok());
  EngineOptions bad;
  bad.values["streams"] = "zero";
  auto engine = CreateEngine(*factory, kCpuDevice, bad);
  ASSERT_FALSE(engine.ok());
  EXPECT_EQ(engine.status().code(), StatusCode::kInvalidArgument);
}

TEST_F(TorchEngineCpu, CapabilitiesAndSupports) {
  auto engine = CreateEngine(*factory_, kCpuDevice);
  ASSERT_TRUE(engine.ok());
  EXPECT_EQ((*engine)->device().id, kCpuDevice);
  EXPECT_TRUE((*engine)->device().test_only);
  EXPECT_EQ((*engine)->capabilities().max_batch, 32);
  EXPECT_TRUE((*engine)->capabilities().async);
  EXPECT_TRUE((*engine)->Supports(config_));
  ModelConfig no_artifact = config_;
  no_artifact.artifacts.clear();
  EXPECT_FALSE((*engine)->Supports(no_artifact));
  EXPECT_EQ((*engine)->Load(no_artifact).code(), StatusCode::kNotFound);
}

TEST_F(TorchEngineCpu, MissingOrCorruptArtifactIsAnError) {
  auto engine = CreateEngine(*factory_, kCpuDevice);
  ASSERT_TRUE(engine.ok());
  ModelConfig missing = config_;
  for (Artifact& a : missing.artifacts) {
    if (a.engine_kind == "nvidia") a.path = "/nonexistent/model.pt";
  }
  Status status = (*engine)->Load(missing);
  EXPECT_EQ(status.code(), StatusCode::kNotFound);
  EXPECT_NE(status.message().find("convert_yolox_torchscript.py"), std::string::npos) << status.ToString();
  ModelConfig corrupt = config_;
  for (Artifact& a : corrupt.artifacts) {
    if (a.engine_kind == "nvidia") a.path = std::string(ACCEL_SOURCE_DIR) + "/models/yolox-nano/model.yaml";
  }
  status = (*engine)->Load(corrupt);
  EXPECT_EQ(status.code(), StatusCode::kFailedPrecondition) << status.ToString();
  // A bad file is not a device failure.
  EXPECT_EQ((*engine)->Health().state, HealthState::kReady);
}

TEST_F(TorchEngineCpu, BatchOfOneAndThree) {
  auto engine = LoadedEngine();
  ASSERT_NE(engine, nullptr);
  auto a = PatternInput(11), b = PatternInput(12), c = PatternInput(13);
  auto single = RunBatch(*engine, config_.name, {b});
  ASSERT_TRUE(single.ok()) << single.status().ToString();
  ASSERT_EQ(single->size(), 1u);
  ASSERT_TRUE((*single)[0].ok()) << (*single)[0].status().ToString();
  const Tensor& alone = (*(*single)[0])[0];
  EXPECT_EQ(alone.shape(), (std::vector<int64_t>{1, 3549, 85}));
  EXPECT_EQ(alone.dtype(), DType::kFloat32);
  EXPECT_EQ(alone.name(), "output");

  auto three = RunBatch(*engine, config_.name, {a, b, c});
  ASSERT_TRUE(three.ok()) << three.status().ToString();
  ASSERT_EQ(three->size(), 3u);
  for (const auto& item : *three) {
    ASSERT_TRUE(item.ok()) << item.status().ToString();
    ASSERT_EQ(item->size(), 1u);
    EXPECT_EQ((*item)[0].shape(), (std::vector<int64_t>{1, 3549, 85}));
  }
  // Item 1 of the batch is the same input as the single run: batching must not mix items up.
  EXPECT_LE(nvidia_test::MaxAbsDiff((*(*three)[1])[0], alone), 1e-4);
  EXPECT_GT(nvidia_test::MaxAbsDiff((*(*three)[0])[0], alone), 1e-3);
  EngineStats stats = engine->Stats();
  EXPECT_EQ(stats.batches_executed, 2u);
  EXPECT_EQ(stats.items_executed, 4u);
  EXPECT_EQ(stats.failures, 0u);
}

TEST_F(TorchEngineCpu, BadItemFailsAloneOthersRun) {
  auto engine = LoadedEngine();
  ASSERT_NE(engine, nullptr);
  auto wrong = std::make_shared<const Tensor>(DType::kFloat32, std::vector<int64_t>{1, 3, 320, 320});
  auto results = RunBatch(*engine, config_.name, {PatternInput(1), wrong, nullptr});
  ASSERT_TRUE(results.ok());
  EXPECT_TRUE((*results)[0].ok()) << (*results)[0].status().ToString();
  EXPECT_EQ((*results)[1].status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ((*results)[2].status().code(), StatusCode::kInvalidArgument);
}

TEST_F(TorchEngineCpu, RejectedBatchesStayWithTheCaller) {
  auto engine = LoadedEngine();
  ASSERT_NE(engine, nullptr);
  int called = 0;
  Batch unknown;
  unknown.model = "no-such-model";
  unknown.items.push_back(BatchItem{PatternInput(1), [&](StatusOr<TensorList>) { ++called; }});
  EXPECT_EQ(engine->Submit(unknown).code(), StatusCode::kNotFound);
  EXPECT_EQ(unknown.items.size(), 1u);
  Batch empty;
  empty.model = config_.name;
  EXPECT_EQ(engine->Submit(empty).code(), StatusCode::kInvalidArgument);
  Batch too_big;
  too_big.model = config_.name;
  for (int i = 0; i < 33; ++i)
    too_big.items.push_back(BatchItem{PatternInput(1), [&](StatusOr<TensorList>) { ++called; }});
  EXPECT_EQ(engine->Submit(too_big).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(too_big.items.size(), 33u);
  EXPECT_EQ(called, 0);
}

TEST_F(TorchEngineCpu, WarmupUnloadAndShutdown) {
  auto engine = LoadedEngine();
  ASSERT_NE(engine, nullptr);
  EXPECT_TRUE(engine->Warmup(config_.name, 2).ok());
  EXPECT_EQ(engine->Warmup(config_.name, 0).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(engine->Warmup("other", 1).code(), StatusCode::kNotFound);
  EXPECT_EQ(engine->Health().state, HealthState::kReady);
  EXPECT_TRUE(engine->Unload(config_.name).ok());
  EXPECT_EQ(engine->Unload(config_.name).code(), StatusCode::kNotFound);
  EXPECT_EQ(RunBatch(*engine, config_.name, {PatternInput(1)}).status().code(), StatusCode::kNotFound);
  engine->Shutdown();
  engine->Shutdown();  // idempotent
  EXPECT_EQ(RunBatch(*engine, config_.name, {PatternInput(1)}).status().code(), StatusCode::kUnavailable);
}

// The sticky-failure path, driven by an injected CUDA error message (the CPU device cannot produce a real
// one): the failing batch's items get UNAVAILABLE with the reason, the device reports failed, refuses
// further work (leaving it with the scheduler) and stays failed; a new engine starts clean.
TEST_F(TorchEngineCpu, CudaErrorMarksDeviceFailedUntilRecreated) {
  EngineOptions options;
  options.values["test_fail_batch"] = "2";
  auto engine = LoadedEngine(options);
  ASSERT_NE(engine, nullptr);
  auto first = RunBatch(*engine, config_.name, {PatternInput(1)});
  ASSERT_TRUE(first.ok());
  EXPECT_TRUE((*first)[0].ok());
  auto second = RunBatch(*engine, config_.name, {PatternInput(1), PatternInput(2)});
  ASSERT_TRUE(second.ok());
  for (const auto& item : *second) {
    EXPECT_EQ(item.status().code(), StatusCode::kUnavailable);
    EXPECT_NE(item.status().message().find("CUDA error"), std::string::npos) << item.status().ToString();
  }
  EngineHealth health = engine->Health();
  EXPECT_EQ(health.state, HealthState::kFailed);
  EXPECT_NE(health.reason.find("illegal memory access"), std::string::npos) << health.reason;
  EXPECT_EQ(engine->Stats().failures, 1u);

  Batch after;
  after.model = config_.name;
  after.items.push_back(BatchItem{PatternInput(3), [](StatusOr<TensorList>) {}});
  EXPECT_EQ(engine->Submit(after).code(), StatusCode::kUnavailable);
  EXPECT_EQ(after.items.size(), 1u);
  EXPECT_EQ(engine->Load(config_).code(), StatusCode::kUnavailable);
  EXPECT_EQ(engine->Health().state, HealthState::kFailed);

  auto fresh = LoadedEngine();
  ASSERT_NE(fresh, nullptr);
  EXPECT_EQ(fresh->Health().state, HealthState::kReady);
  auto ok = RunBatch(*fresh, config_.name, {PatternInput(1)});
  ASSERT_TRUE(ok.ok());
  EXPECT_TRUE((*ok)[0].ok());
}

// The fault model (scripts/make_cuda_fault_model.py) on the CPU test device: the out-of-range gather is an
// ordinary error there, so only that batch fails (INTERNAL) and the device stays ready. On a GPU the same
// model raises a sticky CUDA error (nvidia_gpu.TorchEngineGpu.StickyCudaErrorFailsOnlyThatDevice); this is
// the check, without a GPU, that the file loads, runs and fails where it should.
TEST_F(TorchEngineCpu, OutOfRangeGatherFailsTheBatchOnly) {
  auto fault = nvidia_test::CudaFaultConfig();
  if (!fault.ok()) GTEST_SKIP() << fault.status().ToString();
  auto engine = LoadedEngine();
  ASSERT_NE(engine, nullptr);
  ASSERT_TRUE(engine->Load(*fault).ok());
  auto failed = RunBatch(*engine, fault->name, {PatternInput(1), PatternInput(2)});
  ASSERT_TRUE(failed.ok()) << failed.status().ToString();
  for (const auto& item : *failed) {
    EXPECT_EQ(item.status().code(), StatusCode::kInternal) << item.status().ToString();
    EXPECT_NE(item.status().message().find("out of bounds"), std::string::npos) << item.status().ToString();
  }
  EXPECT_EQ(engine->Health().state, HealthState::kReady) << engine->Health().reason;
  auto after = RunBatch(*engine, config_.name, {PatternInput(3)});
  ASSERT_TRUE(after.ok());
  EXPECT_TRUE((*after)[0].ok()) << (*after)[0].status().ToString();
  EXPECT_EQ(engine->Stats().failures, 1u);
}

TEST(TorchEngineOptions, FaultInjectionIsRefusedOnGpus) {
  auto factory = MakeTorchEngineFactory(false);
  ProbeResult probe = factory->Probe();
  if (probe.devices.empty()) GTEST_SKIP() << "no GPU: " << probe.unavailable_reason;
  EngineOptions options;
  options.values["test_fail_batch"] = "1";
  EXPECT_EQ(factory->Create(probe.devices[0], options).status().code(), StatusCode::kInvalidArgument);
}

TEST(TorchEngineDifferential, CpuModeMatchesCpuEngine) {
  std::string missing = nvidia_test::MissingModelMessage();
  ASSERT_TRUE(missing.empty()) << missing;
  auto factory = MakeTorchEngineFactory(true);
  double diff = nvidia_test::CheckAgainstCpuEngine(*factory, kCpuDevice);
  EXPECT_GE(diff, 0);
}

}  // namespace
}  // namespace accel
