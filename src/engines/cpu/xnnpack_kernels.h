// The xnnpack runtime's own kernels (xnnpack_net.h), for what XNNPACK 2022's operator API lacks or does
// without pixel strides: SiLU, Add/Mul, nearest resize, and the NCHW -> NHWC input conversion (with the
// Focus space-to-depth). Every tensor is a matrix of pixels x channels at a pixel stride (in floats), so
// a producer can write into a channel slice of a concat buffer. Work is split over the pthreadpool (null:
// the caller's thread).
#pragma once

#include <cstddef>
#include <cstdint>

#include "engines/cpu/onnx_graph_rewrite.h"

typedef struct pthreadpool* pthreadpool_t;

namespace accel::xnnpack_kernels {

// A pixels x channels matrix of floats, row r at data + r * stride.
struct Strided {
  float* data = nullptr;
  size_t stride = 0;
};
struct ConstStrided {
  const float* data = nullptr;
  size_t stride = 0;
};

// out = in * sigmoid(in) (silu_kernel.h); in and out may be the same.
void Silu(ConstStrided in, Strided out, size_t pixels, size_t channels, pthreadpool_t pool);

enum class BinaryOp { kAdd, kMul };
void Binary(BinaryOp op, ConstStrided a, ConstStrided b, Strided out, size_t pixels, size_t channels,
            pthreadpool_t pool);

// Nearest-neighbour upsampling by integer factors: out[y][x] = in[y / scale_h][x / scale_w] for an
// out of (height * scale_h) x (width * scale_w) pixels.
void ResizeNearest(ConstStrided in, size_t height, size_t width, size_t channels, int scale_h, int scale_w,
                   Strided out, pthreadpool_t pool);

// From the NCHW tensor `in` [1, c, h, w] writes NHWC `out`, contiguous: without a focus (focus == nullptr
// or !focus->active) [h, w, c]; with one, YOLOX's space-to-depth [h/2, w/2, 4c] whose channel block k is
// in[:, row_phase[k]::2, col_phase[k]::2].
void NchwToNhwc(const float* in, int64_t c, int64_t h, int64_t w, const FocusCut* focus, float* out,
                pthreadpool_t pool);

}  // namespace accel::xnnpack_kernels
