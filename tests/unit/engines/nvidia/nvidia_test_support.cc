#include "nvidia_test_support.h"

#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "engines/cpu/cpu_engine.h"
#include "vision/decoder.h"
#include "vision/image.h"

namespace accel::nvidia_test {

namespace fs = std::filesystem;

fs::path SharedDir() {
  const char* env = std::getenv("ACCEL_SHARED_DIR");
  return env != nullptr ? fs::path(env) : fs::path(ACCEL_SHARED_DIR);
}

fs::path TorchScriptPath() {
  const char* env = std::getenv("ACCEL_TORCHSCRIPT_MODEL");
  if (env != nullptr && *env != '\0') return env;
  return fs::path(ACCEL_SOURCE_DIR) / "models" / "yolox-nano" / "yolox_nano.torchscript.pt";
}

std::string MissingModelMessage() {
  fs::path path = TorchScriptPath();
  if (fs::is_regular_file(path)) return {};
  return "converted model " + path.string() +
         " is missing: run /usr/bin/python3 "
         "scripts/convert_yolox_torchscript.py (or set ACCEL_TORCHSCRIPT_MODEL)";
}

StatusOr<ModelConfig> YoloxConfig() {
  ACCEL_ASSIGN_OR_RETURN(ModelConfig config, LoadModelConfig(fs::path(ACCEL_SOURCE_DIR) / "models" /
                                                             "yolox-nano" / "model.yaml"));
  bool have_cpu = false, have_nvidia = false;
  for (Artifact& artifact : config.artifacts) {
    if (artifact.engine_kind == "cpu") {
      artifact.path = SharedDir() / "models" / "yolox_nano.onnx";
      have_cpu = true;
    } else if (artifact.engine_kind == "nvidia") {
      artifact.format = "torchscript";
      artifact.path = TorchScriptPath();
      have_nvidia = true;
    }
  }
  if (!have_cpu || !have_nvidia) return Internal("model.yaml lacks the cpu or nvidia artifact");
  return config;
}

StatusOr<ModelConfig> CudaFaultConfig() {
  const char* env = std::getenv("ACCEL_CUDA_FAULT_MODEL");
  if (env == nullptr || *env == '\0' || !fs::is_regular_file(env)) {
    return NotFound(std::string("no fault model (ACCEL_CUDA_FAULT_MODEL=") + (env != nullptr ? env : "") +
                    "): make one with python3 scripts/make_cuda_fault_model.py --output FILE and set "
                    "ACCEL_CUDA_FAULT_MODEL=FILE (scripts/gpu-check does both)");
  }
  ACCEL_ASSIGN_OR_RETURN(ModelConfig config, YoloxConfig());
  config.name = "cuda-fault";
  for (Artifact& artifact : config.artifacts) {
    if (artifact.engine_kind == "nvidia") artifact.path = env;
  }
  return config;
}

StatusOr<ModelConfig> YoloxPt2Config() {
  const char* env = std::getenv("ACCEL_PT2_MODEL");
  if (env == nullptr || *env == '\0' || !fs::is_regular_file(env)) {
    return NotFound(std::string("no AOTInductor package (ACCEL_PT2_MODEL=") + (env != nullptr ? env : "") +
                    "): make one with python3 scripts/convert_yolox_torchscript.py --pt2 FILE (torch >= 2.6) "
                    "and set ACCEL_PT2_MODEL=FILE (scripts/gpu-check does both)");
  }
  ACCEL_ASSIGN_OR_RETURN(ModelConfig config, YoloxConfig());
  for (Artifact& artifact : config.artifacts) {
    if (artifact.engine_kind == "nvidia") {
      artifact.format = "pt2";
      artifact.path = env;
    }
  }
  return config;
}

StatusOr<std::unique_ptr<Engine>> CreateEngine(EngineFactory& factory, const std::string& device_id,
                                               const EngineOptions& options) {
  ProbeResult probe = factory.Probe();
  for (const DeviceInfo& device : probe.devices) {
    if (device.id == device_id) return factory.Create(device, options);
  }
  return NotFound("no device " + device_id + " (" + probe.unavailable_reason + ")");
}

StatusOr<std::vector<StatusOr<TensorList>>> RunBatch(
    Engine& engine, const std::string& model, const std::vector<std::shared_ptr<const Tensor>>& inputs) {
  struct State {
    std::mutex mutex;
    std::condition_variable cv;
    size_t remaining = 0;
    std::vector<std::optional<StatusOr<TensorList>>> results;
  };
  auto state = std::make_shared<State>();
  state->remaining = inputs.size();
  state->results.resize(inputs.size());
  Batch batch;
  batch.model = model;
  for (size_t i = 0; i < inputs.size(); ++i) {
    batch.items.push_back(BatchItem{inputs[i], [state, i](StatusOr<TensorList> result) {
                                      std::lock_guard<std::mutex> lock(state->mutex);
                                      state->results[i].emplace(std::move(result));
                                      if (--state->remaining == 0) state->cv.notify_all();
                                    }});
  }
  Status submitted = engine.Submit(batch);
  if (!submitted.ok()) return submitted;
  std::unique_lock<std::mutex> lock(state->mutex);
  state->cv.wait(lock, [&] { return state->remaining == 0; });
  std::vector<StatusOr<TensorList>> results;
  for (auto& result : state->results) results.push_back(std::move(*result));
  return results;
}

StatusOr<std::vector<TensorList>> RunEach(Engine& engine, const std::string& model,
                                          const std::vector<std::shared_ptr<const Tensor>>& inputs) {
  std::vector<TensorList> outputs;
  for (const auto& input : inputs) {
    ACCEL_ASSIGN_OR_RETURN(auto results, RunBatch(engine, model, {input}));
    if (!results[0].ok()) return results[0].status();
    outputs.push_back(std::move(results[0]).value());
  }
  return outputs;
}

std::shared_ptr<const Tensor> PatternInput(uint32_t seed) {
  auto tensor = std::make_shared<Tensor>(DType::kFloat32, std::vector<int64_t>{1, 3, 416, 416});
  std::mt19937 rng(seed);
  // Smooth blobs plus noise: closer to a photograph than uniform noise, so the head's scores vary.
  float* data = tensor->data<float>();
  std::uniform_real_distribution<float> phase(0.0f, 6.28f);
  float p[3] = {phase(rng), phase(rng), phase(rng)};
  std::uniform_int_distribution<int> noise(-20, 20);
  for (int c = 0; c < 3; ++c) {
    for (int y = 0; y < 416; ++y) {
      for (int x = 0; x < 416; ++x) {
        float v = 128 + 90 * std::sin(x * 0.031f + p[c]) * std::cos(y * 0.023f + p[(c + 1) % 3]) + noise(rng);
        data[(c * 416 + y) * 416 + x] = std::clamp(std::round(v), 0.0f, 255.0f);
      }
    }
  }
  return tensor;
}

StatusOr<std::vector<TestImage>> LoadTestImages(const ModelConfig& model) {
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(SharedDir() / "testdata" / "images")) {
    if (entry.path().extension() == ".jpg" || entry.path().extension() == ".png")
      files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  if (files.empty())
    return NotFound("no test images under " + (SharedDir() / "testdata" / "images").string());
  std::vector<TestImage> images;
  for (const fs::path& file : files) {
    std::ifstream in(file, std::ios::binary);
    std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    ACCEL_ASSIGN_OR_RETURN(Image image, DecodeImage(bytes.data(), bytes.size()));
    TestImage test_image;
    test_image.file = file.filename().string();
    ACCEL_ASSIGN_OR_RETURN(Tensor input, PrepareInput(image, model.input, &test_image.transform));
    test_image.input = std::make_shared<const Tensor>(std::move(input));
    images.push_back(std::move(test_image));
  }
  return images;
}

double MaxAbsDiff(const Tensor& a, const Tensor& b) {
  if (a.shape() != b.shape() || a.dtype() != DType::kFloat32 || b.dtype() != DType::kFloat32) return INFINITY;
  double worst = 0;
  const float* x = a.data<float>();
  const float* y = b.data<float>();
  for (int64_t i = 0; i < a.num_elements(); ++i) {
    double d = std::fabs(static_cast<double>(x[i]) - y[i]);
    if (!(d <= worst)) worst = d;  // NaN propagates as a failure
  }
  return worst;
}

namespace {

struct Reference {
  std::string label;
  float confidence;
  Box box;
};

const std::map<std::string, std::vector<Reference>>& References() {
  static const auto* references = [] {
    auto* map = new std::map<std::string, std::vector<Reference>>();
    std::ifstream in(SharedDir() / "testdata" / "expected" / "yolox_nano.jsonl");
    for (std::string line; std::getline(in, line);) {
      if (line.empty()) continue;
      nlohmann::json j = nlohmann::json::parse(line);
      auto& list = (*map)[j.at("image").get<std::string>()];
      for (const auto& d : j.at("detections")) {
        list.push_back(Reference{d.at("label").get<std::string>(), d.at("confidence").get<float>(),
                                 Box{d.at("x_min").get<float>(), d.at("y_min").get<float>(),
                                     d.at("x_max").get<float>(), d.at("y_max").get<float>()}});
      }
    }
    return map;
  }();
  return *references;
}

std::string Describe(const std::string& label, float confidence, const Box& b) {
  std::ostringstream out;
  out << label << " " << confidence << " [" << b.x_min << "," << b.y_min << "," << b.x_max << "," << b.y_max
      << "]";
  return out.str();
}

}  // namespace

std::vector<std::string> CheckAgainstReference(const std::string& image_file,
                                               const std::vector<Detection>& produced) {
  std::vector<std::string> problems;
  auto it = References().find(image_file);
  if (it == References().end()) return {"no reference detections for " + image_file};
  for (const Reference& ref : it->second) {
    if (ref.confidence < 0.5f) continue;
    bool matched = std::any_of(produced.begin(), produced.end(), [&](const Detection& d) {
      return d.label == ref.label && IoU(d.box, ref.box) >= 0.8f &&
             std::fabs(d.confidence - ref.confidence) <= 0.05f;
    });
    if (!matched)
      problems.push_back(image_file + ": reference " + Describe(ref.label, ref.confidence, ref.box) +
                         " not matched");
  }
  for (const Detection& d : produced) {
    if (d.confidence < 0.55f) continue;
    bool matched = std::any_of(it->second.begin(), it->second.end(), [&](const Reference& ref) {
      return ref.confidence >= 0.4f && ref.label == d.label && IoU(d.box, ref.box) >= 0.5f;
    });
    if (!matched)
      problems.push_back(image_file + ": produced " + Describe(d.label, d.confidence, d.box) +
                         " matches no reference");
  }
  return problems;
}

double CheckAgainstCpuEngine(EngineFactory& torch_factory, const std::string& device_id,
                             const EngineOptions& options, const ModelConfig* model) {
  std::unique_ptr<EngineFactory> cpu_factory = MakeCpuEngineFactory();
  return CheckAgainstEngine(torch_factory, device_id, *cpu_factory, "cpu:0", options, model);
}

double CheckAgainstEngine(EngineFactory& torch_factory, const std::string& device_id,
                          EngineFactory& reference_factory, const std::string& reference_id,
                          const EngineOptions& options, const ModelConfig* model,
                          const EngineOptions& reference_options) {
  StatusOr<ModelConfig> config = model != nullptr ? StatusOr<ModelConfig>(*model) : YoloxConfig();
  EXPECT_TRUE(config.ok()) << config.status().ToString();
  if (!config.ok()) return -1;
  auto cpu = CreateEngine(reference_factory, reference_id, reference_options);
  EXPECT_TRUE(cpu.ok()) << cpu.status().ToString();
  auto torch = CreateEngine(torch_factory, device_id, options);
  EXPECT_TRUE(torch.ok()) << torch.status().ToString();
  if (!cpu.ok() || !torch.ok()) return -1;
  Status loaded = (*cpu)->Load(*config);
  EXPECT_TRUE(loaded.ok()) << loaded.ToString();
  loaded = (*torch)->Load(*config);
  EXPECT_TRUE(loaded.ok()) << loaded.ToString();
  if (!loaded.ok()) return -1;

  auto images = LoadTestImages(*config);
  EXPECT_TRUE(images.ok()) << images.status().ToString();
  if (!images.ok()) return -1;
  std::vector<std::shared_ptr<const Tensor>> inputs;
  for (const TestImage& image : *images) inputs.push_back(image.input);
  inputs.push_back(PatternInput(1));
  inputs.push_back(PatternInput(2));

  auto cpu_out = RunEach(**cpu, config->name, inputs);
  EXPECT_TRUE(cpu_out.ok()) << cpu_out.status().ToString();
  StatusOr<std::vector<StatusOr<TensorList>>> torch_out = std::vector<StatusOr<TensorList>>{};
  if ((*torch)->capabilities().max_batch >= static_cast<int>(inputs.size())) {
    torch_out = RunBatch(**torch, config->name, inputs);  // one batch of 10
  } else {
    auto each = RunEach(**torch, config->name, inputs);
    if (each.ok())
      for (TensorList& outputs : *each) torch_out->push_back(std::move(outputs));
    else
      torch_out = each.status();
  }
  EXPECT_TRUE(torch_out.ok()) << torch_out.status().ToString();
  if (!cpu_out.ok() || !torch_out.ok()) return -1;

  double worst = 0;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const StatusOr<TensorList>& result = (*torch_out)[i];
    EXPECT_TRUE(result.ok()) << "item " << i << ": " << result.status().ToString();
    if (!result.ok()) return -1;
    EXPECT_EQ(result->size(), 1u);
    EXPECT_EQ((*result)[0].shape(), (std::vector<int64_t>{1, 3549, 85}));
    double diff = MaxAbsDiff((*result)[0], (*cpu_out)[i][0]);
    EXPECT_LE(diff, 1e-3) << "item " << i << " (" << (i < images->size() ? (*images)[i].file : "pattern")
                          << ")";
    worst = std::max(worst, diff);
  }

  DetectionFilter filter;
  filter.threshold = 0.25f;
  filter.max_results = 100;
  size_t detections = 0;
  for (size_t i = 0; i < images->size(); ++i) {
    const TestImage& image = (*images)[i];
    auto produced = DecodeDetections(*config, *(*torch_out)[i], image.transform, filter);
    EXPECT_TRUE(produced.ok()) << produced.status().ToString();
    if (!produced.ok()) continue;
    detections += produced->size();
    for (const std::string& problem : CheckAgainstReference(image.file, *produced)) ADD_FAILURE() << problem;
  }
  std::cout << "[ diff     ] " << device_id << " (" << config->ArtifactFor("nvidia")->format << ") vs "
            << reference_id << " over " << inputs.size() << " inputs: max |diff| = " << worst << "; "
            << detections << " detections on " << images->size() << " images" << std::endl;
  ::testing::Test::RecordProperty("max_abs_diff", std::to_string(worst));
  return worst;
}

}  // namespace accel::nvidia_test
