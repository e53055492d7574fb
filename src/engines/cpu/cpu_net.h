// CpuNet: one runnable copy of a model on OpenCV DNN's CPU backend: the ONNX artifact read into memory,
// rewritten for OpenCV (onnx_graph_rewrite.h) unless told not to, and the tensor rearrangements the
// rewrite moved out of the graph. The cpu engine holds one per instance (cpu_engine.cc); the bench tool
// uses it directly to time the rewrites one by one. The header has no OpenCV type (pimpl), so code outside
// src/engines/cpu can use it.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/model_config.h"
#include "core/status.h"
#include "core/tensor.h"
#include "engines/cpu/onnx_graph_rewrite.h"

namespace accel {

class CpuNet {
 public:
  // Reads `onnx`, applies `rewrite` and builds the OpenCV network (registering the SiLU layer first).
  // InvalidArgument when OpenCV cannot read the (rewritten) model; NotFound when the file does not exist.
  // Every rewrite on, SiLU as the engine's vectorised layer (opencv_silu_layer.h): what the engine runs.
  static OnnxRewriteOptions DefaultRewrite();
  // No rewrite: the file as it is.
  static OnnxRewriteOptions NoRewrite();

  static StatusOr<std::unique_ptr<CpuNet>> Load(const ModelConfig& model, const std::filesystem::path& onnx,
                                                const OnnxRewriteOptions& rewrite);
  ~CpuNet();
  CpuNet(const CpuNet&) = delete;
  CpuNet& operator=(const CpuNet&) = delete;

  // Runs one item: `input` has the model's declared input shape [1, ...]; the outputs have the model's
  // declared names and the shapes of the original graph (rearrangements undone). Not thread-safe: one
  // caller at a time per CpuNet (OpenCV's Net mutates itself in forward).
  StatusOr<TensorList> Run(const Tensor& input);

  // OpenCV's thread count for every forward pass in the process (cv::setNumThreads); 0: all cores.
  static void SetThreads(int threads);

  // What the rewrite did (the rewritten bytes are not kept).
  const OnnxRewrite& rewrite() const;

  // Milliseconds per layer type (OpenCV's layer type names: "Convolution", "Sigmoid", ...) of the last
  // Run, from OpenCV's per-layer timers; layers fused into another report 0 and their time counts in the
  // layer that absorbed them. Same thread rule as Run.
  std::map<std::string, double> LastRunLayerTypeMs() const;

  struct LayerTime {
    std::string name, type;
    double ms = 0;
  };
  // The same timers per layer, in the network's order. Same thread rule as Run.
  std::vector<LayerTime> LastRunLayerMs() const;

 private:
  struct Impl;
  explicit CpuNet(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace accel
