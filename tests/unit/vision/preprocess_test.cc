#include "vision/preprocess.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <iostream>

#include "test_util.h"

namespace accel {
namespace {

Image MakeImage(int width, int height, const std::vector<uint8_t>& rgb) {
  auto image = ImageFromRgb(rgb, width, height);
  EXPECT_TRUE(image.ok()) << image.status().ToString();
  return std::move(image).value();
}

// One value per pixel, replicated to R; G = value + 1; B = value + 2 (so channel order is visible).
Image MakeChannelImage(int width, int height, const std::vector<int>& values) {
  std::vector<uint8_t> rgb;
  for (int v : values) {
    rgb.push_back(static_cast<uint8_t>(v));
    rgb.push_back(static_cast<uint8_t>(v + 1));
    rgb.push_back(static_cast<uint8_t>(v + 2));
  }
  return MakeImage(width, height, rgb);
}

InputSpec Spec(int width, int height, LetterboxMode mode = LetterboxMode::kTopLeft) {
  InputSpec spec;
  spec.name = "images";
  spec.width = width;
  spec.height = height;
  spec.layout = TensorLayout::kNCHW;
  spec.color = ColorOrder::kRGB;
  spec.dtype = DType::kFloat32;
  spec.letterbox = mode;
  spec.pad_value = 114;
  return spec;
}

// NCHW float accessor.
float At(const Tensor& t, int c, int y, int x) {
  const int64_t h = t.shape()[2], w = t.shape()[3];
  return t.data<float>()[(c * h + y) * w + x];
}

TEST(PrepareInput, TopLeftPadsRightAndBottom) {
  // 4x2 into 4x4: r = min(4/4, 4/2) = 1, no resampling, rows 2..3 padded.
  const Image image = MakeChannelImage(4, 2, {10, 20, 30, 40, 50, 60, 70, 80});
  LetterboxTransform tr;
  auto t = PrepareInput(image, Spec(4, 4), &tr);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->shape(), (std::vector<int64_t>{1, 3, 4, 4}));
  EXPECT_EQ(t->name(), "images");
  EXPECT_EQ(t->dtype(), DType::kFloat32);
  EXPECT_FLOAT_EQ(At(*t, 0, 0, 0), 10);
  EXPECT_FLOAT_EQ(At(*t, 1, 0, 0), 11);
  EXPECT_FLOAT_EQ(At(*t, 2, 0, 0), 12);
  EXPECT_FLOAT_EQ(At(*t, 0, 1, 3), 80);
  for (int c = 0; c < 3; ++c)
    for (int x = 0; x < 4; ++x) {
      EXPECT_FLOAT_EQ(At(*t, c, 2, x), 114);
      EXPECT_FLOAT_EQ(At(*t, c, 3, x), 114);
    }
  EXPECT_FLOAT_EQ(tr.scale_x, 1);
  EXPECT_FLOAT_EQ(tr.pad_x, 0);
  EXPECT_FLOAT_EQ(tr.pad_y, 0);
  EXPECT_EQ(tr.original_width, 4);
}

TEST(PrepareInput, DownscaleByTwoAveragesBlocks) {
  // 4x4 -> 2x2: half-pixel centres put every output sample between four source pixels with weight 1/4.
  std::vector<int> v = {10, 30, 100, 100,  //
                        20, 40, 100, 100,  //
                        0,  0,  200, 0,    //
                        0,  0,  0,   200};
  const Image image = MakeChannelImage(4, 4, v);
  LetterboxTransform tr;
  auto t = PrepareInput(image, Spec(2, 2), &tr);
  ASSERT_TRUE(t.ok());
  EXPECT_FLOAT_EQ(At(*t, 0, 0, 0), 25);  // (10 + 30 + 20 + 40) / 4
  EXPECT_FLOAT_EQ(At(*t, 0, 0, 1), 100);
  EXPECT_FLOAT_EQ(At(*t, 0, 1, 0), 0);
  EXPECT_FLOAT_EQ(At(*t, 0, 1, 1), 100);  // (200 + 0 + 0 + 200) / 4
  EXPECT_FLOAT_EQ(At(*t, 1, 0, 0), 26);
  EXPECT_FLOAT_EQ(tr.scale_x, 0.5f);
  EXPECT_FLOAT_EQ(tr.scale_y, 0.5f);
}

TEST(PrepareInput, UpscaleUsesHalfPixelCentresAndClampsBorders) {
  // 2x1 -> 4x2 (r = 2). Source x for output x: (x + 0.5) / 2 - 0.5 = -0.25, 0.25, 0.75, 1.25 -> clamped
  // at both ends, so the row is 0, 50, 150, 200.
  const Image image = MakeChannelImage(2, 1, {0, 200});
  auto t = PrepareInput(image, Spec(4, 2), nullptr);
  ASSERT_TRUE(t.ok());
  for (int y = 0; y < 2; ++y) {
    EXPECT_FLOAT_EQ(At(*t, 0, y, 0), 0);
    EXPECT_FLOAT_EQ(At(*t, 0, y, 1), 50);
    EXPECT_FLOAT_EQ(At(*t, 0, y, 2), 150);
    EXPECT_FLOAT_EQ(At(*t, 0, y, 3), 200);
    EXPECT_FLOAT_EQ(At(*t, 2, y, 1), 52);
  }
}

TEST(PrepareInput, CenterSplitsPadding) {
  const Image image = MakeChannelImage(4, 2, {1, 2, 3, 4, 5, 6, 7, 8});
  LetterboxTransform tr;
  auto t = PrepareInput(image, Spec(4, 4, LetterboxMode::kCenter), &tr);
  ASSERT_TRUE(t.ok());
  EXPECT_FLOAT_EQ(At(*t, 0, 0, 0), 114);
  EXPECT_FLOAT_EQ(At(*t, 0, 1, 0), 1);
  EXPECT_FLOAT_EQ(At(*t, 0, 2, 3), 8);
  EXPECT_FLOAT_EQ(At(*t, 0, 3, 0), 114);
  EXPECT_FLOAT_EQ(tr.pad_x, 0);
  EXPECT_FLOAT_EQ(tr.pad_y, 1);
  const Box b = tr.ToOriginal({1, 1, 3, 3});
  EXPECT_FLOAT_EQ(b.x_min, 1);
  EXPECT_FLOAT_EQ(b.y_min, 0);
  EXPECT_FLOAT_EQ(b.y_max, 2);
}

TEST(PrepareInput, StretchIgnoresAspectRatio) {
  const Image image = MakeChannelImage(4, 2, {10, 30, 50, 70, 10, 30, 50, 70});
  LetterboxTransform tr;
  auto t = PrepareInput(image, Spec(2, 2, LetterboxMode::kStretch), &tr);
  ASSERT_TRUE(t.ok());
  EXPECT_FLOAT_EQ(At(*t, 0, 0, 0), 20);
  EXPECT_FLOAT_EQ(At(*t, 0, 1, 1), 60);
  EXPECT_FLOAT_EQ(tr.scale_x, 0.5f);
  EXPECT_FLOAT_EQ(tr.scale_y, 1.0f);
  EXPECT_FLOAT_EQ(tr.pad_y, 0);
}

TEST(PrepareInput, LayoutColourAndDtypeVariants) {
  const Image image = MakeChannelImage(2, 2, {10, 20, 30, 40});
  InputSpec spec = Spec(2, 2);

  spec.color = ColorOrder::kBGR;
  auto bgr = PrepareInput(image, spec, nullptr);
  ASSERT_TRUE(bgr.ok());
  EXPECT_FLOAT_EQ(At(*bgr, 0, 0, 1), 22);  // plane 0 is blue
  EXPECT_FLOAT_EQ(At(*bgr, 2, 0, 1), 20);  // plane 2 is red

  spec.layout = TensorLayout::kNHWC;
  spec.mean = 10;
  spec.scale = 0.5f;
  auto nhwc = PrepareInput(image, spec, nullptr);
  ASSERT_TRUE(nhwc.ok());
  EXPECT_EQ(nhwc->shape(), (std::vector<int64_t>{1, 2, 2, 3}));
  const float* f = nhwc->data<float>();
  // Pixel (y=1, x=0) has R=30, G=31, B=32; BGR order, (v - 10) * 0.5.
  EXPECT_FLOAT_EQ(f[(1 * 2 + 0) * 3 + 0], 11);
  EXPECT_FLOAT_EQ(f[(1 * 2 + 0) * 3 + 1], 10.5f);
  EXPECT_FLOAT_EQ(f[(1 * 2 + 0) * 3 + 2], 10);

  spec.dtype = DType::kUInt8;
  spec.color = ColorOrder::kRGB;
  auto u8 = PrepareInput(image, spec, nullptr);
  ASSERT_TRUE(u8.ok());
  EXPECT_EQ(u8->dtype(), DType::kUInt8);
  EXPECT_EQ(u8->byte_size(), 12u);
  EXPECT_EQ(u8->data<uint8_t>()[(1 * 2 + 1) * 3 + 0], 40);  // raw pixels: mean/scale do not apply
  EXPECT_EQ(u8->data<uint8_t>()[(1 * 2 + 1) * 3 + 2], 42);

  spec.layout = TensorLayout::kNCHW;
  spec.width = 4;  // padding in uint8
  auto u8_nchw = PrepareInput(image, spec, nullptr);
  ASSERT_TRUE(u8_nchw.ok());
  EXPECT_EQ(u8_nchw->shape(), (std::vector<int64_t>{1, 3, 2, 4}));
  EXPECT_EQ(u8_nchw->data<uint8_t>()[1 * 8 + 0 * 4 + 1], 21);   // G plane, (0, 1)
  EXPECT_EQ(u8_nchw->data<uint8_t>()[2 * 8 + 1 * 4 + 3], 114);  // B plane, padding
}

TEST(PrepareInput, YoloxGeometryUsesOriginalDimensions) {
  const std::vector<uint8_t> rgb(640 * 426 * 3, 50);
  const Image image = MakeImage(640, 426, rgb);
  InputSpec spec = Spec(416, 416);
  spec.color = ColorOrder::kBGR;
  LetterboxTransform tr;
  auto t = PrepareInput(image, spec, &tr);
  ASSERT_TRUE(t.ok());
  // r = 0.65: resized to 416 x int(426 * 0.65) = 416 x 276; rows 276.. are padding.
  EXPECT_FLOAT_EQ(tr.scale_x, 0.65f);
  EXPECT_FLOAT_EQ(At(*t, 0, 275, 415), 50);
  EXPECT_FLOAT_EQ(At(*t, 0, 276, 0), 114);
  EXPECT_FLOAT_EQ(At(*t, 2, 415, 415), 114);
  const Box b = tr.ToOriginal({0, 0, 416, 416});
  EXPECT_FLOAT_EQ(b.x_max, 640);
  EXPECT_FLOAT_EQ(b.y_max, 426);  // clipped
  const Box c = tr.ToOriginal({65, 13, 130, 26});
  EXPECT_NEAR(c.x_min, 100, 1e-3);
  EXPECT_NEAR(c.y_min, 20, 1e-3);
  EXPECT_NEAR(c.x_max, 200, 1e-3);
}

TEST(PrepareInput, ReducedScaleDecodeMapsToOriginalPixels) {
  // The same scene at full (64x32) and half (32x16) resolution: same geometry, boxes in original pixels.
  std::vector<uint8_t> full(64 * 32 * 3), half(32 * 16 * 3);
  for (int y = 0; y < 32; ++y)
    for (int x = 0; x < 64; ++x)
      for (int c = 0; c < 3; ++c) full[(y * 64 + x) * 3 + c] = static_cast<uint8_t>(x * 4);
  for (int y = 0; y < 16; ++y)
    for (int x = 0; x < 32; ++x)
      for (int c = 0; c < 3; ++c) half[(y * 32 + x) * 3 + c] = static_cast<uint8_t>(x * 8 + 2);
  const Image full_image = MakeImage(64, 32, full);
  Image half_image = MakeImage(32, 16, half);
  half_image.original_width = 64;
  half_image.original_height = 32;
  LetterboxTransform tf, th;
  auto a = PrepareInput(full_image, Spec(16, 16), &tf);
  auto b = PrepareInput(half_image, Spec(16, 16), &th);
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(b.ok());
  EXPECT_FLOAT_EQ(tf.scale_x, th.scale_x);
  EXPECT_FLOAT_EQ(th.scale_x, 0.25f);
  EXPECT_EQ(th.original_width, 64);
  for (int x = 0; x < 16; ++x) {
    EXPECT_NEAR(At(*a, 0, 3, x), At(*b, 0, 3, x), 2.0) << x;
    EXPECT_FLOAT_EQ(At(*b, 0, 8, x), 114);  // 16 x 8 image area, rest padding
  }
  const Box box = th.ToOriginal({4, 2, 8, 4});
  EXPECT_FLOAT_EQ(box.x_min, 16);
  EXPECT_FLOAT_EQ(box.y_max, 16);
}

TEST(PrepareInput, ExtremeAspectRatioKeepsOneRow) {
  const Image image = MakeImage(1000, 1, std::vector<uint8_t>(3000, 9));
  auto t = PrepareInput(image, Spec(16, 16), nullptr);
  ASSERT_TRUE(t.ok());
  EXPECT_FLOAT_EQ(At(*t, 0, 0, 5), 9);
  EXPECT_FLOAT_EQ(At(*t, 0, 1, 5), 114);
}

TEST(PrepareInput, RejectsBadInputs) {
  Image broken;
  broken.width = 4;
  broken.height = 4;
  broken.rgb.resize(10);
  EXPECT_EQ(PrepareInput(broken, Spec(4, 4), nullptr).status().code(), StatusCode::kInvalidArgument);
  const Image ok = MakeChannelImage(1, 1, {1});
  InputSpec spec = Spec(4, 4);
  spec.channels = 1;
  EXPECT_EQ(PrepareInput(ok, spec, nullptr).status().code(), StatusCode::kUnimplemented);
  spec = Spec(0, 4);
  EXPECT_EQ(PrepareInput(ok, spec, nullptr).status().code(), StatusCode::kInvalidArgument);
  spec = Spec(4, 4);
  spec.dtype = DType::kInt64;
  EXPECT_EQ(PrepareInput(ok, spec, nullptr).status().code(), StatusCode::kUnimplemented);
}

TEST(LetterboxTransform, ToOriginalClips) {
  LetterboxTransform tr;
  tr.scale_x = tr.scale_y = 0.5f;
  tr.pad_x = 10;
  tr.original_width = 100;
  tr.original_height = 50;
  const Box b = tr.ToOriginal({0, -4, 70, 40});
  EXPECT_FLOAT_EQ(b.x_min, 0);  // (0 - 10) / 0.5 = -20, clipped
  EXPECT_FLOAT_EQ(b.y_min, 0);
  EXPECT_FLOAT_EQ(b.x_max, 100);  // 120, clipped
  EXPECT_FLOAT_EQ(b.y_max, 50);   // 80, clipped
  const Box inside = tr.ToOriginal({20, 10, 30, 20});
  EXPECT_FLOAT_EQ(inside.x_min, 20);
  EXPECT_FLOAT_EQ(inside.y_min, 20);
  EXPECT_FLOAT_EQ(inside.x_max, 40);
  EXPECT_FLOAT_EQ(inside.y_max, 40);
}

// Not a pass/fail check: prints per-call costs of the request-path image work on this machine. The machine
// is shared, so each figure is the best of several batches (closest to the uncontended cost) plus the mean.
template <typename Fn>
std::pair<double, double> TimeMs(int batches, int per_batch, Fn&& fn) {
  using Clock = std::chrono::steady_clock;
  double best = 1e30, total = 0;
  for (int b = 0; b < batches; ++b) {
    const auto start = Clock::now();
    for (int i = 0; i < per_batch; ++i) fn();
    const double ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count() / per_batch;
    best = std::min(best, ms);
    total += ms;
  }
  return {best, total / batches};
}

TEST(VisionTiming, DecodeAndPrepare640x480) {
  const std::vector<uint8_t> jpeg = testing::TestImageBytes("000000001000.jpg");  // 640x480
  ASSERT_FALSE(jpeg.empty());
  auto image = DecodeImage(jpeg.data(), jpeg.size());
  ASSERT_TRUE(image.ok());
  ASSERT_EQ(image->width, 640);
  bool all_ok = true;
  const auto [decode_best, decode_mean] =
      TimeMs(10, 10, [&] { all_ok &= DecodeImage(jpeg.data(), jpeg.size()).ok(); });
  InputSpec spec = Spec(416, 416);
  spec.color = ColorOrder::kBGR;
  const auto [prepare_best, prepare_mean] = TimeMs(10, 30, [&] {
    LetterboxTransform tr;
    all_ok &= PrepareInput(*image, spec, &tr).ok();
  });
  EXPECT_TRUE(all_ok);
  std::cout << "[timing] DecodeImage(640x480 JPEG): best " << decode_best << " ms/call, mean " << decode_mean
            << "; PrepareInput(640x480 -> 416x416 float32 NCHW BGR): best " << prepare_best
            << " ms/call, mean " << prepare_mean << "\n";
}

}  // namespace
}  // namespace accel
