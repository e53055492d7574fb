#include "engines/cpu/layout_transforms.h"

#include <algorithm>

namespace accel {

void SpaceToDepth(const float* in, int64_t n, int64_t c, int64_t h, int64_t w, const FocusCut& cut,
                  float* out) {
  const int64_t oh = h / 2, ow = w / 2;
  for (int64_t b = 0; b < n; ++b) {
    for (int k = 0; k < 4; ++k) {
      const int64_t row = cut.row_phase[k], col = cut.col_phase[k];
      for (int64_t ch = 0; ch < c; ++ch) {
        const float* src = in + ((b * c + ch) * h) * w;
        float* dst = out + ((b * 4 * c + k * c + ch) * oh) * ow;
        for (int64_t y = 0; y < oh; ++y) {
          const float* __restrict s = src + (2 * y + row) * w + col;
          float* __restrict d = dst + y * ow;
          for (int64_t x = 0; x < ow; ++x) d[x] = s[2 * x];
        }
      }
    }
  }
}

void SwapLastTwoAxes(const float* in, int64_t n, int64_t rows, int64_t cols, float* out) {
  // Tiles keep both the rows read and the rows written in L1.
  constexpr int64_t kTile = 32;
  for (int64_t b = 0; b < n; ++b) {
    const float* src = in + b * rows * cols;
    float* dst = out + b * rows * cols;
    for (int64_t r0 = 0; r0 < rows; r0 += kTile) {
      const int64_t r1 = std::min(rows, r0 + kTile);
      for (int64_t c0 = 0; c0 < cols; c0 += kTile) {
        const int64_t c1 = std::min(cols, c0 + kTile);
        for (int64_t r = r0; r < r1; ++r)
          for (int64_t c = c0; c < c1; ++c) dst[c * rows + r] = src[r * cols + c];
      }
    }
  }
}

}  // namespace accel
