// The tensor rearrangements that the graph rewrites (onnx_graph_rewrite.h) move out of the OpenCV graph,
// done here in one cache-friendly pass each. Plain float loops, no OpenCV.
#pragma once

#include <cstdint>

#include "engines/cpu/onnx_graph_rewrite.h"

namespace accel {

// YOLOX's Focus: from an NCHW tensor `in` [n, c, h, w] (h, w even) writes `out` [n, 4c, h/2, w/2] with
// channel block k = in[:, :, cut.row_phase[k]::2, cut.col_phase[k]::2].
void SpaceToDepth(const float* in, int64_t n, int64_t c, int64_t h, int64_t w, const FocusCut& cut,
                  float* out);

// out[i, y, x] = in[i, x, y] for `in` of shape [n, rows, cols]: `out` has shape [n, cols, rows].
void SwapLastTwoAxes(const float* in, int64_t n, int64_t rows, int64_t cols, float* out);

}  // namespace accel
