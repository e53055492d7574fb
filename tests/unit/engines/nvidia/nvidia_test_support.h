// Helpers shared by the nvidia engine's CPU-mode tests (nvidia_tests) and GPU tests (nvidia_gpu_tests).
// Nothing here includes libtorch: the tests see the engine only through engine.h, as the service does.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "core/model_config.h"
#include "core/status.h"
#include "core/tensor.h"
#include "engines/engine.h"
#include "vision/detection.h"
#include "vision/preprocess.h"

namespace accel::nvidia_test {

std::filesystem::path SharedDir();
// ACCEL_TORCHSCRIPT_MODEL, else <source>/models/yolox-nano/yolox_nano.torchscript.pt.
std::filesystem::path TorchScriptPath();
// Empty when the converted model exists; else a message telling how to make it.
std::string MissingModelMessage();

// models/yolox-nano/model.yaml with the cpu artifact pointed at ../shared/models/yolox_nano.onnx and the
// nvidia artifact at TorchScriptPath(), so the tests do not depend on what scripts/setup linked.
StatusOr<ModelConfig> YoloxConfig();

// The model of scripts/make_cuda_fault_model.py, from ACCEL_CUDA_FAULT_MODEL (scripts/gpu-check makes it and
// sets that): YoloxConfig() named "cuda-fault", its nvidia artifact pointed at that file. It raises a
// device-side assert (a sticky CUDA error) on a GPU and an ordinary index error on the CPU. NotFound, with
// how to make it, when the variable is unset or names no file.
StatusOr<ModelConfig> CudaFaultConfig();

// YoloxConfig() with the nvidia artifact replaced by the AOTInductor package in ACCEL_PT2_MODEL (format
// pt2; scripts/convert_yolox_torchscript.py --pt2 makes it, scripts/gpu-check sets the variable). NotFound
// when the variable is unset or names no file.
StatusOr<ModelConfig> YoloxPt2Config();

StatusOr<std::unique_ptr<Engine>> CreateEngine(EngineFactory& factory, const std::string& device_id,
                                               const EngineOptions& options = {});

// Submits one batch and waits for every item. A Submit error is returned as the outer status.
StatusOr<std::vector<StatusOr<TensorList>>> RunBatch(
    Engine& engine, const std::string& model, const std::vector<std::shared_ptr<const Tensor>>& inputs);
// Runs items one at a time (for engines whose max_batch is 1, i.e. the cpu engine).
StatusOr<std::vector<TensorList>> RunEach(Engine& engine, const std::string& model,
                                          const std::vector<std::shared_ptr<const Tensor>>& inputs);

// Deterministic image-like input [1,3,416,416], values 0..255.
std::shared_ptr<const Tensor> PatternInput(uint32_t seed);

struct TestImage {
  std::string file;
  std::shared_ptr<const Tensor> input;
  LetterboxTransform transform;
};
// The eight images of ../shared/testdata/images, decoded and prepared with the vision pipeline.
StatusOr<std::vector<TestImage>> LoadTestImages(const ModelConfig& model);

double MaxAbsDiff(const Tensor& a, const Tensor& b);

// The differential test: the 8 test images and 2 pattern inputs run through the reference device
// (`reference_id` of `reference_factory`, one item at a time) and through `device_id` of the torch factory
// as one batch. Checks (gtest EXPECTs) that raw outputs differ by at most 1e-3 and that the torch
// detections satisfy the reference matching rule. Returns the max |diff| seen (or -1 when the test could
// not run; the failure is already recorded). `model`: the configuration both load (nullptr: YoloxConfig()).
// A tested engine whose max_batch is smaller than the inputs (the cpu engine with its libtorch runtime) runs
// them one at a time. `reference_options`: the reference engine's options (graph_rewrite=false: the
// original ONNX graph).
double CheckAgainstEngine(EngineFactory& torch_factory, const std::string& device_id,
                          EngineFactory& reference_factory, const std::string& reference_id,
                          const EngineOptions& options = {}, const ModelConfig* model = nullptr,
                          const EngineOptions& reference_options = {});
// The same against the cpu engine (OpenCV DNN running the ONNX file): "cpu:0".
double CheckAgainstCpuEngine(EngineFactory& torch_factory, const std::string& device_id,
                             const EngineOptions& options = {}, const ModelConfig* model = nullptr);

// The matching rule of ../shared/testdata/README.md for one image, against expected/yolox_nano.jsonl.
// Returns the list of violations (empty: the image passes).
std::vector<std::string> CheckAgainstReference(const std::string& image_file,
                                               const std::vector<Detection>& produced);

}  // namespace accel::nvidia_test
