// The nvidia engine on real CUDA GPUs. Labelled `gpu` in CTest; every test skips when no GPU is visible.
#include <gtest/gtest.h>

#include "engines/nvidia/torch_engine.h"
#include "nvidia_test_support.h"

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

// CUDA against libtorch on the CPU (the CPU test device): same library, same TorchScript, other device.
// Independent of OpenCV, so it still says something where the cpu engine differs for its own reasons.
TEST(TorchEngineGpu, CudaMatchesLibtorchCpu) {
  REQUIRE_GPU();
  ASSERT_TRUE(nvidia_test::MissingModelMessage().empty()) << nvidia_test::MissingModelMessage();
  auto factory = MakeTorchEngineFactory(true);
  EXPECT_GE(nvidia_test::CheckAgainstEngine(*factory, gpu, *factory, "nvidia-cpu:0"), 0);
}

}  // namespace
}  // namespace accel
