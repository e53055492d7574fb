#include "engines/cpu/layout_transforms.h"

#include <gtest/gtest.h>

#include <vector>

namespace accel {
namespace {

TEST(LayoutTransformsTest, SpaceToDepthTakesEachPhaseInTheGivenOrder) {
  const int n = 2, c = 3, h = 6, w = 10;
  std::vector<float> in(n * c * h * w);
  for (size_t i = 0; i < in.size(); ++i) in[i] = static_cast<float>(i);
  FocusCut cut;
  cut.row_phase = {0, 1, 0, 1};  // YOLOX's order: top-left, bottom-left, top-right, bottom-right
  cut.col_phase = {0, 0, 1, 1};
  std::vector<float> out(in.size(), -1.f);
  SpaceToDepth(in.data(), n, c, h, w, cut, out.data());
  for (int b = 0; b < n; ++b)
    for (int k = 0; k < 4; ++k)
      for (int ch = 0; ch < c; ++ch)
        for (int y = 0; y < h / 2; ++y)
          for (int x = 0; x < w / 2; ++x) {
            const float want =
                in[((b * c + ch) * h + 2 * y + cut.row_phase[k]) * w + 2 * x + cut.col_phase[k]];
            ASSERT_EQ(out[((b * 4 * c + k * c + ch) * (h / 2) + y) * (w / 2) + x], want);
          }
}

TEST(LayoutTransformsTest, SwapLastTwoAxesTransposesEveryItem) {
  const int n = 2, rows = 85, cols = 71;  // not multiples of the tile size
  std::vector<float> in(n * rows * cols);
  for (size_t i = 0; i < in.size(); ++i) in[i] = static_cast<float>(i);
  std::vector<float> out(in.size(), -1.f);
  SwapLastTwoAxes(in.data(), n, rows, cols, out.data());
  for (int b = 0; b < n; ++b)
    for (int r = 0; r < rows; ++r)
      for (int c = 0; c < cols; ++c) ASSERT_EQ(out[(b * cols + c) * rows + r], in[(b * rows + r) * cols + c]);
}

}  // namespace
}  // namespace accel
