// The cpu engine's modes: options, the concurrency it declares, and that throughput mode's instances all
// compute the same outputs as latency mode.
#include "engines/cpu/cpu_engine.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <future>
#include <regex>

#include "core/model_config.h"
#include "onnx_test_builder.h"

namespace accel {
namespace {

// OpenCV unless a test asks for another runtime: these tests are about OpenCV's modes and rewrites.
StatusOr<std::unique_ptr<Engine>> MakeEngine(std::map<std::string, std::string> options) {
  options.emplace("runtime", "opencv");
  auto factory = MakeCpuEngineFactory();
  return factory->Create(factory->Probe().devices.at(0), EngineOptions{std::move(options)});
}

ModelConfig Model() {
  auto config = LoadModelConfig(std::string(ACCEL_SOURCE_DIR) + "/models/yolox-nano/model.yaml");
  EXPECT_TRUE(config.ok()) << config.status().message();
  ModelConfig model = *config;
  for (auto& artifact : model.artifacts)
    if (artifact.engine_kind == "cpu")
      artifact.path = std::string(ACCEL_SHARED_DIR) + "/models/yolox_nano.onnx";
  return model;
}

TEST(CpuEngineTest, LatencyModeIsOneInstance) {
  auto engine = MakeEngine({{"threads", "2"}});
  ASSERT_TRUE(engine.ok()) << engine.status().message();
  EXPECT_EQ((*engine)->capabilities().max_in_flight, 2);
  EXPECT_EQ((*engine)->device().properties.at("cpu_mode"), "latency");
  EXPECT_EQ((*engine)->device().properties.at("instances"), "1");
  EXPECT_EQ((*engine)->device().properties.at("threads_per_instance"), "2");
}

TEST(CpuEngineTest, ThroughputModeDeclaresItsConcurrency) {
  auto engine = MakeEngine({{"mode", "throughput"}, {"instances", "3"}});
  ASSERT_TRUE(engine.ok()) << engine.status().message();
  EXPECT_EQ((*engine)->capabilities().max_in_flight, 4);  // every instance busy and one batch queued
  EXPECT_EQ((*engine)->device().properties.at("cpu_mode"), "throughput");
  EXPECT_EQ((*engine)->device().properties.at("instances"), "3");
  EXPECT_EQ((*engine)->device().properties.at("threads_per_instance"), "1");
}

TEST(CpuEngineTest, BadOptionsAreNamed) {
  auto bad_mode = MakeEngine({{"mode", "fast"}});
  EXPECT_EQ(bad_mode.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad_mode.status().message().find("cpu.mode"), std::string::npos);
  auto instances_in_latency = MakeEngine({{"instances", "2"}});
  EXPECT_EQ(instances_in_latency.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(instances_in_latency.status().message().find("cpu.instances"), std::string::npos);
}

// Runs `n` zero-filled items through `engine` at once (as many as it accepts in flight) and returns them.
std::vector<TensorList> RunAtOnce(Engine& engine, const ModelConfig& model, int n) {
  std::vector<std::promise<StatusOr<TensorList>>> promises(n);
  std::vector<int64_t> shape = {1};
  for (int64_t d : model.InputItemShape()) shape.push_back(d);
  for (int i = 0; i < n; ++i) {
    auto input = std::make_shared<Tensor>(DType::kFloat32, shape, model.input.name);
    for (int64_t k = 0; k < input->num_elements(); ++k)
      input->data<float>()[k] = static_cast<float>((k * 7 + i) % 255);
    Batch batch;
    batch.model = model.name;
    batch.items.push_back(
        {input, [&promises, i](StatusOr<TensorList> r) { promises[i].set_value(std::move(r)); }});
    EXPECT_TRUE(engine.Submit(batch).ok());
  }
  std::vector<TensorList> out;
  for (auto& p : promises) {
    auto r = p.get_future().get();
    EXPECT_TRUE(r.ok()) << r.status().message();
    if (r.ok()) out.push_back(std::move(*r));
  }
  return out;
}

TEST(CpuEngineTest, ThroughputInstancesComputeWhatLatencyModeComputes) {
  const ModelConfig model = Model();
  auto latency = MakeEngine({});
  auto throughput = MakeEngine({{"mode", "throughput"}, {"instances", "2"}});
  ASSERT_TRUE(latency.ok() && throughput.ok());
  ASSERT_TRUE((*latency)->Load(model).ok());
  ASSERT_TRUE((*throughput)->Load(model).ok());
  const auto want = RunAtOnce(**latency, model, 2);
  const auto got = RunAtOnce(**throughput, model, 3);
  ASSERT_EQ(want.size(), 2u);
  ASSERT_EQ(got.size(), 3u);
  for (int i = 0; i < 2; ++i) {
    ASSERT_EQ(got[i].at(0).shape(), want[i].at(0).shape());
    const float* a = got[i][0].data<float>();
    const float* b = want[i][0].data<float>();
    double worst = 0;
    for (int64_t k = 0; k < got[i][0].num_elements(); ++k)
      worst = std::max(worst, std::fabs(double(a[k]) - b[k]));
    EXPECT_LE(worst, 1e-4) << "item " << i;
  }
  (*latency)->Shutdown();
  (*throughput)->Shutdown();
}

// The engine runs the default rewrites (the vectorised SiLU layer included), and none with graph_rewrite
// off: told apart by their outputs, which differ slightly (the rewritten path's SiLU is an approximation).
TEST(CpuEngineTest, GraphRewriteOptionSelectsThePath) {
  const ModelConfig model = Model();
  auto rewritten = MakeEngine({});
  auto original = MakeEngine({{"graph_rewrite", "false"}});
  ASSERT_TRUE(rewritten.ok() && original.ok());
  EXPECT_EQ((*rewritten)->device().properties.at("graph_rewrite"), "on");
  EXPECT_EQ((*original)->device().properties.at("graph_rewrite"), "off");
  ASSERT_TRUE((*rewritten)->Load(model).ok());
  ASSERT_TRUE((*original)->Load(model).ok());
  const auto a = RunAtOnce(**rewritten, model, 1);
  const auto b = RunAtOnce(**original, model, 1);
  ASSERT_EQ(a.size(), 1u);
  ASSERT_EQ(b.size(), 1u);
  ASSERT_EQ(a[0].at(0).shape(), b[0].at(0).shape());
  double worst = 0;
  for (int64_t k = 0; k < a[0][0].num_elements(); ++k)
    worst = std::max(worst, std::fabs(double(a[0][0].data<float>()[k]) - b[0][0].data<float>()[k]));
  EXPECT_GT(worst, 0.0) << "graph_rewrite=false ran the same graph as the default";
  EXPECT_LE(worst, 1e-3);
  (*rewritten)->Shutdown();
  (*original)->Shutdown();
}

}  // namespace
}  // namespace accel

namespace accel {
namespace {

// The cpu engine's runtime choice where libtorch cannot run (the CPU image without the plugin): auto falls
// back to OpenCV and says why; a forced libtorch is a load error; opencv never asks for the plugin.
std::unique_ptr<EngineFactory> FactoryWithoutLibtorch(int* maker_calls) {
  return MakeCpuEngineFactory([maker_calls](const EngineOptions&) -> StatusOr<std::unique_ptr<Engine>> {
    ++*maker_calls;
    return Unavailable("libtorch plugin not installed: libaccel_nvidia_engine.so: not found");
  });
}

std::string RuntimeNote(Engine& engine, const std::string& model) {
  EngineStats stats = engine.Stats();
  auto it = stats.model_runtimes.find(model);
  return it == stats.model_runtimes.end() ? "" : it->second;
}

TEST(CpuEngineRuntimeTest, AutoWithoutThePluginFallsBackToOpencv) {
  int calls = 0;
  auto factory = FactoryWithoutLibtorch(&calls);
  auto engine = factory->Create(factory->Probe().devices.at(0), EngineOptions{{{"threads", "2"}}});
  ASSERT_TRUE(engine.ok()) << engine.status().message();
  const ModelConfig model = Model();
  ASSERT_NE(model.ArtifactFor("nvidia"), nullptr);  // the default model has a TorchScript artifact
  ASSERT_TRUE((*engine)->Load(model).ok());
  EXPECT_EQ(calls, 1);
  // OpenCV and XNNPACK can both run the default model: both timed, libtorch left out with its reason.
  const std::string note = RuntimeNote(**engine, model.name);
  EXPECT_TRUE(
      std::regex_match(note, std::regex("(opencv|xnnpack): auto: measured [0-9.]+ ms vs (opencv|xnnpack) "
                                        "[0-9.]+ ms at load; libtorch plugin not installed: "
                                        "libaccel_nvidia_engine.so: not found")))
      << note;
  EXPECT_EQ(RunAtOnce(**engine, model, 1).size(), 1u);
}

TEST(CpuEngineRuntimeTest, XnnpackServesWhenRequestedInBothModes) {
  const ModelConfig model = Model();
  for (auto options : std::vector<std::map<std::string, std::string>>{
           {{"runtime", "xnnpack"}, {"threads", "2"}},
           {{"runtime", "xnnpack"}, {"mode", "throughput"}, {"instances", "2"}, {"threads", "1"}}}) {
    auto engine = MakeEngine(options);
    ASSERT_TRUE(engine.ok()) << engine.status().message();
    ASSERT_TRUE((*engine)->Load(model).ok());
    EXPECT_EQ(RuntimeNote(**engine, model.name), "xnnpack: requested (--cpu-runtime/CPU_RUNTIME)");
    const int in_flight = options.count("mode") ? 3 : 2;  // instances + 1
    const auto outputs = RunAtOnce(**engine, model, in_flight);
    ASSERT_EQ(outputs.size(), static_cast<size_t>(in_flight));
    for (const auto& out : outputs) {
      ASSERT_EQ(out.size(), 1u);
      EXPECT_EQ(out[0].shape(), (std::vector<int64_t>{1, 3549, 85}));
    }
    (*engine)->Shutdown();
  }
}

// A graph with a node XNNPACK does not support (a Softmax, which OpenCV runs): auto serves it with OpenCV
// and says which node XNNPACK refused; a forced xnnpack is a load error naming it.
TEST(CpuEngineRuntimeTest, UnsupportedGraphFallsBackToOpencvNamingTheNode) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("accel_xnnpack_refusal_" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  onnx_test::GraphBuilder g("x", {1, 3, 8, 8});
  g.Floats("w", {3, 3, 1, 1}, std::vector<float>(9, 0.5f));
  g.Node("Conv", {"x", "w"}, "c", {onnx_test::Ints("kernel_shape", {1, 1})});  // OpenCV needs the attribute
  g.Node("Softmax", {"c"}, "y", {onnx_test::Int("axis", 1)});
  g.OutputField("y", {1, 3, 8, 8});
  std::ofstream(dir / "tiny.onnx", std::ios::binary) << g.Model();
  auto model = ParseModelConfig(
      "name: tiny\ninput: {name: x, width: 8, height: 8, channels: 3, layout: NCHW, dtype: float32}\n"
      "outputs: [{name: y, shape: [3, 8, 8]}]\ndecoder: {family: raw}\n"
      "artifacts: {cpu: {format: onnx, path: tiny.onnx}}\n",
      dir);
  ASSERT_TRUE(model.ok()) << model.status().message();
  auto engine = MakeEngine({{"runtime", "auto"}});
  ASSERT_TRUE(engine.ok()) << engine.status().message();
  ASSERT_TRUE((*engine)->Load(*model).ok());
  EXPECT_EQ(
      RuntimeNote(**engine, "tiny"),
      "opencv: auto: the model has no TorchScript artifact; xnnpack runtime: Softmax #1 (output 'y'): op "
      "type not supported by the xnnpack runtime");
  EXPECT_EQ(RunAtOnce(**engine, *model, 1).size(), 1u);
  (*engine)->Shutdown();
  auto forced = MakeEngine({{"runtime", "xnnpack"}});
  ASSERT_TRUE(forced.ok());
  const Status loaded = (*forced)->Load(*model);
  EXPECT_EQ(loaded.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(loaded.message().find("Softmax #1 (output 'y')"), std::string::npos) << loaded.message();
  std::filesystem::remove_all(dir);
}

TEST(CpuEngineRuntimeTest, ForcedLibtorchWithoutThePluginIsALoadError) {
  int calls = 0;
  auto factory = FactoryWithoutLibtorch(&calls);
  auto engine = factory->Create(factory->Probe().devices.at(0), EngineOptions{{{"runtime", "libtorch"}}});
  ASSERT_TRUE(engine.ok()) << engine.status().message();
  Status loaded = (*engine)->Load(Model());
  EXPECT_EQ(loaded.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(loaded.message().find("libtorch plugin not installed"), std::string::npos) << loaded.message();
}

TEST(CpuEngineRuntimeTest, ModelYamlOverridesTheOption) {
  int calls = 0;
  auto factory = FactoryWithoutLibtorch(&calls);
  auto engine = factory->Create(factory->Probe().devices.at(0), EngineOptions{{{"runtime", "libtorch"}}});
  ASSERT_TRUE(engine.ok()) << engine.status().message();
  ModelConfig model = Model();
  model.cpu_runtime = "opencv";
  ASSERT_TRUE((*engine)->Load(model).ok());
  EXPECT_EQ(calls, 0);  // pinned to OpenCV: the plugin is not even asked for
  EXPECT_EQ(RuntimeNote(**engine, model.name), "opencv: requested (model.yaml)");
  EXPECT_EQ(MakeEngine({{"runtime", "tensorflow"}}).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace accel
