// An OpenCV DNN activation layer computing SiLU with the vectorised kernel of silu_kernel.h. Being an
// ActivationLayer, the convolution in front of it absorbs it (OpenCV's layer fusion calls forwardSlice on
// each output stripe while it is still in cache); alone it runs as an element-wise layer. The graph rewrite
// (onnx_graph_rewrite.h) names it as the op type of each fused x * Sigmoid(x).
#pragma once

#include <string>

namespace accel {

// The op / layer type name the layer is registered under ("AccelSiLU").
const std::string& OpenCvSiluLayerType();

// Registers the layer with OpenCV's LayerFactory once per process; later calls do nothing. Thread-safe.
void RegisterOpenCvSiluLayer();

}  // namespace accel
