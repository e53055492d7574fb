// The cpu engine's libtorch runtime (cpu_runtime_choice.h): the cpu device serving a model through the
// nvidia engine's code on libtorch's CPU device. Linked statically here (the service loads the same code
// from the plugin).
#include <gtest/gtest.h>

#include "engines/cpu/cpu_engine.h"
#include "engines/nvidia/torch_engine.h"
#include "nvidia_test_support.h"

namespace accel {
namespace {

// A cpu engine factory whose libtorch runtime is the torch engine's CPU device, as the registry builds it
// from the plugin.
std::unique_ptr<EngineFactory> CpuFactoryWithLibtorch() {
  std::shared_ptr<EngineFactory> torch = MakeTorchEngineFactory(true);
  return MakeCpuEngineFactory([torch](const EngineOptions& options) -> StatusOr<std::unique_ptr<Engine>> {
    for (const DeviceInfo& device : torch->Probe().devices)
      if (device.id == "nvidia-cpu:0") return torch->Create(device, options);
    return Unavailable("no nvidia-cpu:0");
  });
}

std::string RuntimeNote(Engine& engine, const std::string& model) {
  EngineStats stats = engine.Stats();
  auto it = stats.model_runtimes.find(model);
  return it == stats.model_runtimes.end() ? "" : it->second;
}

// CPU_RUNTIME=libtorch: libtorch serves, its raw outputs are within 1e-3 of the original ONNX graph's
// (OpenCV, no rewrites) on the test images and two patterns, and its detections match the reference.
TEST(CpuLibtorchRuntime, ForcedLibtorchMatchesTheOriginalOnnxAndTheReference) {
  std::string missing = nvidia_test::MissingModelMessage();
  ASSERT_TRUE(missing.empty()) << missing;
  auto cpu_with_libtorch = CpuFactoryWithLibtorch();
  auto reference = MakeCpuEngineFactory();
  const double diff = nvidia_test::CheckAgainstEngine(
      *cpu_with_libtorch, "cpu:0", *reference, "cpu:0", EngineOptions{{{"runtime", "libtorch"}}}, nullptr,
      EngineOptions{{{"runtime", "opencv"}, {"graph_rewrite", "false"}}});
  EXPECT_GE(diff, 0);
  EXPECT_LE(diff, 1e-3);

  auto config = nvidia_test::YoloxConfig();
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  auto engine =
      nvidia_test::CreateEngine(*cpu_with_libtorch, "cpu:0", EngineOptions{{{"runtime", "libtorch"}}});
  ASSERT_TRUE(engine.ok()) << engine.status().ToString();
  ASSERT_TRUE((*engine)->Load(*config).ok());
  EXPECT_EQ(RuntimeNote(**engine, config->name), "libtorch: requested (--cpu-runtime/CPU_RUNTIME)");
  EXPECT_FALSE((*engine)->device().test_only);
}

// auto: every runtime that can run the model is timed at load and one of them serves, with the timings in
// the reason.
TEST(CpuLibtorchRuntime, AutoMeasuresBothAndKeepsOne) {
  std::string missing = nvidia_test::MissingModelMessage();
  ASSERT_TRUE(missing.empty()) << missing;
  auto config = nvidia_test::YoloxConfig();
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  auto factory = CpuFactoryWithLibtorch();
  auto engine = nvidia_test::CreateEngine(*factory, "cpu:0");
  ASSERT_TRUE(engine.ok()) << engine.status().ToString();
  ASSERT_TRUE((*engine)->Load(*config).ok());
  const std::string note = RuntimeNote(**engine, config->name);
  // OpenCV, XNNPACK and libtorch can all run the default model: all three timed, one kept.
  EXPECT_TRUE(note.rfind("opencv: auto: measured ", 0) == 0 ||
              note.rfind("xnnpack: auto: measured ", 0) == 0 ||
              note.rfind("libtorch: auto: measured ", 0) == 0)
      << note;
  for (const char* runtime : {"opencv", "xnnpack", "libtorch"})
    EXPECT_NE(note.find(runtime), std::string::npos) << note;
  EXPECT_NE(note.find(" ms at load"), std::string::npos) << note;
  auto out = nvidia_test::RunEach(**engine, config->name, {nvidia_test::PatternInput(3)});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ((*out)[0][0].shape(), (std::vector<int64_t>{1, 3549, 85}));
}

}  // namespace
}  // namespace accel
