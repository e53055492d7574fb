// Load-time rewrites of an ONNX model for OpenCV DNN's CPU backend. They remove the hot spots the per-layer
// profile of YOLOX-family models shows, without changing what the model computes:
//
//   - Focus cut: a graph that starts with YOLOX's Focus (space-to-depth: four Slice pairs with step 2 on
//     the input's height and width, then a Concat of the four phases along channels) is cut after it. The
//     rewritten graph takes the 4C x H/2 x W/2 tensor directly; the engine builds it from the model's
//     declared input with SpaceToDepth (space_to_depth.h), one cache-friendly pass instead of OpenCV's
//     eight strided Slice layers.
//   - SiLU fusion: x * Sigmoid(x) (a Sigmoid whose only consumer is a Mul by its own input) becomes one
//     activation node (options.silu_op_type). OpenCV 4.6's ONNX importer has no fusion for this pattern,
//     so the exported graph ran a Sigmoid layer and an Eltwise layer per activation, and the convolution in
//     front could not absorb either (its output had two consumers). An activation layer has one input, so
//     the convolution fuses it.
//   - Output transpose cut: a final Transpose [0, 2, 1] that produces a graph output is removed; the graph
//     then outputs the untransposed tensor under the same name and the engine transposes it (a blocked
//     copy, much cheaper than OpenCV's Permute layer here).
//   - Max-pool cascade: parallel MaxPools of one input with stride 1, "same" padding and kernels k, 2k-1,
//     3k-2, ... (YOLOX's SPP: 5, 9, 13) become a chain of k-kernels, each pooling the previous one's
//     output (SPPF). Exact: a stride-1 max pool of kernel a after one of kernel b is one of kernel
//     a + b - 1, padding included (padding never wins a max), and it reads 3 x 25 instead of
//     25 + 81 + 169 values per output.
//
// Each rewrite matches its pattern structurally (op types, edges, constant values), never by node names;
// a model without the pattern is left as it is. The user's file is never changed: the rewrite works on the
// bytes in memory.
#pragma once

#include <array>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace accel {

struct OnnxRewriteOptions {
  bool cut_focus = true;
  bool fuse_silu = true;
  bool cut_output_transpose = true;
  bool cascade_max_pools = true;
  // The op type each fused SiLU gets: OpenCV's built-in "Swish" (scalar, as slow as Sigmoid + Mul but one
  // layer) or a layer the engine registers (opencv_silu_layer.h, vectorised).
  std::string silu_op_type = "Swish";
};

// How to build the rewritten graph's input from the model's declared NCHW input when the Focus was cut.
struct FocusCut {
  bool active = false;
  std::string input;  // the graph input's name (kept)
  // Channel block k of the new input (channels k*C .. k*C+C-1) is input[:, :, row_phase[k]::2,
  // col_phase[k]::2]; YOLOX's order is (0,0), (1,0), (0,1), (1,1).
  std::array<int, 4> row_phase{}, col_phase{};
};

// A graph output that the rewritten graph produces untransposed: the engine must swap its last two axes.
struct TransposedOutput {
  std::string name;
};

struct OnnxRewrite {
  std::string model;  // the rewritten ModelProto bytes (the input bytes when nothing matched)
  FocusCut focus;
  int silu_fused = 0;
  std::string silu_op_type;  // the op type the fused SiLUs got
  std::vector<TransposedOutput> transposed_outputs;
  int max_pools_cascaded = 0;  // MaxPools that now pool the previous one's output

  bool changed() const {
    return focus.active || silu_fused > 0 || !transposed_outputs.empty() || max_pools_cascaded > 0;
  }
  // One line for logs and `accel devices`: "focus cut, 104 SiLU fused, output transpose cut" or "none".
  std::string Summary() const;
};

// Applies the enabled rewrites to the ONNX ModelProto in `model`. InvalidArgument when the bytes do not
// parse as protobuf; a model that parses but has none of the patterns comes back unchanged. Thread-safe.
StatusOr<OnnxRewrite> RewriteOnnxForOpenCv(std::string_view model, const OnnxRewriteOptions& options = {});

}  // namespace accel
