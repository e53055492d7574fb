#include "engines/cpu/xnnpack_kernels.h"

#include <pthreadpool.h>

#include <algorithm>

#include "engines/cpu/silu_kernel.h"

namespace accel::xnnpack_kernels {
namespace {

// Work items of about this many floats per task: large enough to amortise the dispatch, small enough to
// balance two to sixteen threads on the model's smaller layers.
constexpr size_t kFloatsPerTask = 16 * 1024;

size_t PixelsPerTask(size_t channels) {
  return std::max<size_t>(1, kFloatsPerTask / std::max<size_t>(1, channels));
}

}  // namespace

void Silu(ConstStrided in, Strided out, size_t pixels, size_t channels, pthreadpool_t pool) {
  if (in.stride == channels && out.stride == channels) {
    const size_t total = pixels * channels;
    pthreadpool_parallelize_1d_tile_1d(
        pool, [&](size_t start, size_t n) { accel::Silu(in.data + start, out.data + start, n); }, total,
        kFloatsPerTask);
    return;
  }
  pthreadpool_parallelize_1d_tile_1d(
      pool,
      [&](size_t start, size_t n) {
        for (size_t p = start; p < start + n; ++p)
          accel::Silu(in.data + p * in.stride, out.data + p * out.stride, channels);
      },
      pixels, PixelsPerTask(channels));
}

void Binary(BinaryOp op, ConstStrided a, ConstStrided b, Strided out, size_t pixels, size_t channels,
            pthreadpool_t pool) {
  pthreadpool_parallelize_1d_tile_1d(
      pool,
      [&](size_t start, size_t n) {
        for (size_t p = start; p < start + n; ++p) {
          const float* x = a.data + p * a.stride;
          const float* y = b.data + p * b.stride;
          float* z = out.data + p * out.stride;
          if (op == BinaryOp::kAdd) {
            for (size_t c = 0; c < channels; ++c) z[c] = x[c] + y[c];
          } else {
            for (size_t c = 0; c < channels; ++c) z[c] = x[c] * y[c];
          }
        }
      },
      pixels, PixelsPerTask(channels));
}

void ResizeNearest(ConstStrided in, size_t height, size_t width, size_t channels, int scale_h, int scale_w,
                   Strided out, pthreadpool_t pool) {
  const size_t out_height = height * scale_h, out_width = width * scale_w;
  pthreadpool_parallelize_1d(
      pool,
      [&](size_t y) {
        const float* src_row = in.data + (y / scale_h) * width * in.stride;
        float* dst_row = out.data + y * out_width * out.stride;
        for (size_t x = 0; x < out_width; ++x)
          std::copy_n(src_row + (x / scale_w) * in.stride, channels, dst_row + x * out.stride);
      },
      out_height);
}

void NchwToNhwc(const float* in, int64_t c, int64_t h, int64_t w, const FocusCut* focus, float* out,
                pthreadpool_t pool) {
  if (focus == nullptr || !focus->active) {
    pthreadpool_parallelize_1d(
        pool,
        [&](size_t y) {
          float* row = out + y * w * c;
          for (int64_t ch = 0; ch < c; ++ch) {
            const float* src = in + (ch * h + static_cast<int64_t>(y)) * w;
            for (int64_t x = 0; x < w; ++x) row[x * c + ch] = src[x];
          }
        },
        static_cast<size_t>(h));
    return;
  }
  const int64_t h2 = h / 2, w2 = w / 2, c4 = 4 * c;
  pthreadpool_parallelize_1d(
      pool,
      [&](size_t y) {
        float* row = out + y * w2 * c4;
        for (int k = 0; k < 4; ++k) {
          for (int64_t ch = 0; ch < c; ++ch) {
            const float* src =
                in + (ch * h + 2 * static_cast<int64_t>(y) + focus->row_phase[k]) * w + focus->col_phase[k];
            float* dst = row + k * c + ch;
            for (int64_t x = 0; x < w2; ++x) dst[x * c4] = src[2 * x];
          }
        }
      },
      static_cast<size_t>(h2));
}

}  // namespace accel::xnnpack_kernels
