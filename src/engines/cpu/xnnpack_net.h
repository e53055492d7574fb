// XnnpackNet: one runnable copy of an ONNX model on XNNPACK's operator API (NHWC, float32), the cpu
// device's third runtime beside OpenCV DNN and libtorch (cpu_runtime_choice.h).
//
// At load the ONNX graph is taken after the same load-time rewrites as OpenCV's (onnx_graph_rewrite.h:
// Focus cut, SiLU fused into one node, max-pool cascade); every node becomes an XNNPACK operator or one of
// the engine's own strided kernels (xnnpack_kernels.h), created and set up once for the fixed input shape:
//   Conv (any groups, strides, pads, dilations), the fused SiLU (the engine's vectorised kernel, in place),
//   Sigmoid, Add and Mul of equal shapes, Concat along channels (producers write straight into their
//   channel slice of the concat buffer through XNNPACK's pixel strides; a strided copy where they cannot),
//   MaxPool (with pads), Resize nearest by integer factors (asymmetric, floor), and the detection head's
//   Reshape [1, C, H, W] -> [1, C, H*W], Concat along the last axis and Transpose [0, 2, 1], which cost no
//   copy at all in NHWC (the head's rows are already the output's rows).
// Any other op, attribute or shape refuses the model at load with the node named: never wrong numbers.
//
// Tensors stay in buffers allocated at load; one pthreadpool per net with the given thread count. Not
// thread-safe: one caller at a time per net (the cpu engine keeps one per worker).
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "core/model_config.h"
#include "core/status.h"
#include "core/tensor.h"

namespace accel {

struct XnnpackNetOptions {
  int threads = 1;  // the pthreadpool's threads (1: runs on the caller's thread)
  // With threads > 1: time the net at load with its pool and on the caller's thread alone (a few runs
  // each, interleaved, medians) and keep the faster. The pool waits for every worker at each of the
  // graph's 200-odd operators, so on a machine whose cores are busy with other work one thread can beat
  // two (measured: bench/README.md).
  bool time_threads_at_load = true;
  bool cut_focus = true;  // take YOLOX's Focus out of the graph (done in the input conversion)
  bool cascade_max_pools = true;
};

class XnnpackNet {
 public:
  // Reads the ONNX model `onnx` for `model` (whose declared input must be float32 NCHW and name the
  // graph's input). FailedPrecondition naming the node for anything this runtime does not support;
  // NotFound when the file does not exist; InvalidArgument for bytes that are not ONNX.
  static StatusOr<std::unique_ptr<XnnpackNet>> Load(const ModelConfig& model,
                                                    const std::filesystem::path& onnx,
                                                    const XnnpackNetOptions& options);
  // The same from bytes: the graph's single input is float32 NCHW with the declared shape (a symbolic
  // batch dimension is 1).
  static StatusOr<std::unique_ptr<XnnpackNet>> FromBytes(std::string_view onnx,
                                                         const XnnpackNetOptions& options);
  ~XnnpackNet();
  XnnpackNet(const XnnpackNet&) = delete;
  XnnpackNet& operator=(const XnnpackNet&) = delete;

  // Runs one item: `input` has the graph's declared input shape [1, C, H, W] (NCHW float32); the outputs
  // have the graph's output names and shapes, in the graph's order.
  StatusOr<TensorList> Run(const Tensor& input);

  // One line for logs: "2 threads (measured ...), 122 XNNPACK operators, 40 outputs written into concat
  // slices, ...".
  std::string Summary() const;

  struct Impl;  // opaque: the plan, buffers and operators (xnnpack_net.cc)

 private:
  explicit XnnpackNet(std::unique_ptr<Impl> impl);
  Status ChooseThreads();
  std::unique_ptr<Impl> impl_;
};

}  // namespace accel
