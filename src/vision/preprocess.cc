#include "vision/preprocess.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

namespace accel {
namespace {

// Bilinear resize in the fixed-point arithmetic of OpenCV's cv::resize(INTER_LINEAR) for 8-bit images, so
// that the tensor matches what the reference pipeline (OpenCV resize, then float conversion) produces:
//  - source coordinate of a destination pixel: (d + 0.5) * (src / dst) - 0.5 (half-pixel centres);
//  - horizontal weights are rounded to 11 fractional bits (2048 = 1.0) and clamped at the borders;
//  - the vertical pass combines two horizontally filtered rows as OpenCV's SIMD path does:
//    (((h0 >> 4) * b0 >> 16) + ((h1 >> 4) * b1 >> 16) + 2) >> 2.
// Verified bit-exact against OpenCV 4.6's cv::resize on the shared test images.
// No antialiasing, like OpenCV.
constexpr int kCoefBits = 11;
constexpr int kCoefOne = 1 << kCoefBits;

int16_t CoefFromFloat(float f) {
  return static_cast<int16_t>(std::clamp(std::lrintf(f * kCoefOne), -32768L, 32767L));
}

struct HorizontalTaps {
  std::vector<int32_t> offset0, offset1;  // byte offsets of the two source pixels (x * 3)
  std::vector<int16_t> weight0, weight1;
};

HorizontalTaps BuildHorizontalTaps(int src, int dst) {
  HorizontalTaps taps;
  taps.offset0.resize(dst);
  taps.offset1.resize(dst);
  taps.weight0.resize(dst);
  taps.weight1.resize(dst);
  // OpenCV computes the step as 1 / (dst / src) in double and the coordinate in float; we do the same so
  // that the rounding of the weights agrees.
  const double step = 1.0 / (static_cast<double>(dst) / src);
  for (int d = 0; d < dst; ++d) {
    float f = static_cast<float>((d + 0.5) * step - 0.5);
    int s = static_cast<int>(std::floor(f));
    f -= static_cast<float>(s);
    if (s < 0) s = 0, f = 0;
    if (s >= src - 1) s = src - 1, f = 0;
    taps.offset0[d] = s * 3;
    taps.offset1[d] = std::min(s + 1, src - 1) * 3;
    taps.weight0[d] = CoefFromFloat(1.f - f);
    taps.weight1[d] = CoefFromFloat(f);
  }
  return taps;
}

struct VerticalTap {
  int row0, row1;
  int16_t weight0, weight1;
};

// Unlike the horizontal direction, OpenCV keeps the fractional weight at the top/bottom border and only
// clamps the row indices; we mirror that.
std::vector<VerticalTap> BuildVerticalTaps(int src, int dst) {
  std::vector<VerticalTap> taps(dst);
  const double step = 1.0 / (static_cast<double>(dst) / src);
  for (int d = 0; d < dst; ++d) {
    float f = static_cast<float>((d + 0.5) * step - 0.5);
    const int s = static_cast<int>(std::floor(f));
    f -= static_cast<float>(s);
    taps[d] = {std::clamp(s, 0, src - 1), std::clamp(s + 1, 0, src - 1), CoefFromFloat(1.f - f),
               CoefFromFloat(f)};
  }
  return taps;
}

// Filters one interleaved RGB source row horizontally into three planar rows (channel c at c * dst_width).
// Only h >> 4 of each filtered value h is ever used by the vertical pass, so it is stored as int16
// (h <= 255 * 2048, h >> 4 <= 32640): half the memory, and 16-bit lanes for the vertical pass.
void HorizontalPass(const uint8_t* src_row, const HorizontalTaps& taps, int dst_width, int16_t* out) {
  const int32_t* o0 = taps.offset0.data();
  const int32_t* o1 = taps.offset1.data();
  const int16_t* w0 = taps.weight0.data();
  const int16_t* w1 = taps.weight1.data();
  int16_t* __restrict r = out;
  int16_t* __restrict g = out + dst_width;
  int16_t* __restrict b = out + 2 * dst_width;
  for (int x = 0; x < dst_width; ++x) {
    const uint8_t* p = src_row + o0[x];
    const uint8_t* q = src_row + o1[x];
    const int32_t kp = w0[x], kq = w1[x];
    r[x] = static_cast<int16_t>((p[0] * kp + q[0] * kq) >> 4);
    g[x] = static_cast<int16_t>((p[1] * kp + q[1] * kq) >> 4);
    b[x] = static_cast<int16_t>((p[2] * kp + q[2] * kq) >> 4);
  }
}

// out = saturate_u8((((h0 * b0) >> 16) + ((h1 * b1) >> 16) + 2) >> 2), contiguous so it vectorises.
void VerticalPass(const int16_t* __restrict h0, const int16_t* __restrict h1, int16_t b0, int16_t b1, int n,
                  uint8_t* __restrict out) {
  const int32_t k0 = b0, k1 = b1;
  for (int i = 0; i < n; ++i) {
    const int32_t v = (((h0[i] * k0) >> 16) + ((h1[i] * k1) >> 16) + 2) >> 2;
    out[i] = static_cast<uint8_t>(std::clamp(v, 0, 255));
  }
}

// Caches horizontally filtered source rows: consecutive output rows mostly share source rows.
class RowCache {
 public:
  RowCache(const Image& image, const HorizontalTaps& taps, int dst_width)
      : image_(image), taps_(taps), dst_width_(dst_width) {
    for (auto& slot : slots_) slot.values.resize(static_cast<size_t>(dst_width) * 3);
  }

  // The planar filtered row for `src_row`, computing it unless cached; never evicts `keep_other`.
  const int16_t* Row(int src_row, int keep_other) {
    for (auto& slot : slots_) {
      if (slot.row == src_row) return slot.values.data();
    }
    Slot& slot = slots_[0].row == keep_other ? slots_[1] : slots_[0];
    HorizontalPass(image_.rgb.data() + static_cast<size_t>(src_row) * image_.width * 3, taps_, dst_width_,
                   slot.values.data());
    slot.row = src_row;
    return slot.values.data();
  }

 private:
  struct Slot {
    int row = -1;
    std::vector<int16_t> values;
  };
  const Image& image_;
  const HorizontalTaps& taps_;
  int dst_width_;
  std::array<Slot, 2> slots_;
};

struct Geometry {
  int resized_width = 0, resized_height = 0;
  int pad_x = 0, pad_y = 0;  // whole model pixels
  double scale_x = 1, scale_y = 1;
};

Geometry ComputeGeometry(int original_width, int original_height, const InputSpec& spec) {
  Geometry g;
  const double rx = static_cast<double>(spec.width) / original_width;
  const double ry = static_cast<double>(spec.height) / original_height;
  switch (spec.letterbox) {
    case LetterboxMode::kTopLeft: {
      // YOLOX's reference: r = min(W / w, H / h); resized size truncated as Python's int() does.
      const double r = std::min(rx, ry);
      g.resized_width = static_cast<int>(original_width * r);
      g.resized_height = static_cast<int>(original_height * r);
      g.scale_x = g.scale_y = r;
      break;
    }
    case LetterboxMode::kCenter: {
      // Ultralytics' convention: resized size rounded, padding split with the odd pixel on the right/bottom.
      const double r = std::min(rx, ry);
      g.resized_width = static_cast<int>(std::lround(original_width * r));
      g.resized_height = static_cast<int>(std::lround(original_height * r));
      g.resized_width = std::clamp(g.resized_width, 1, spec.width);
      g.resized_height = std::clamp(g.resized_height, 1, spec.height);
      g.pad_x = (spec.width - g.resized_width) / 2;
      g.pad_y = (spec.height - g.resized_height) / 2;
      g.scale_x = g.scale_y = r;
      break;
    }
    case LetterboxMode::kStretch:
      g.resized_width = spec.width;
      g.resized_height = spec.height;
      g.scale_x = rx;
      g.scale_y = ry;
      break;
  }
  // Extreme aspect ratios can truncate a side to 0; keep at least one pixel row/column of image.
  g.resized_width = std::clamp(g.resized_width, 1, spec.width);
  g.resized_height = std::clamp(g.resized_height, 1, spec.height);
  return g;
}

// Tensor value of a pixel: float32 (pixel - mean) * scale, or the raw pixel for uint8 inputs (any
// normalisation of a uint8 model is compiled into it, e.g. Hailo HEFs).
struct FloatConvert {
  float mean, scale;
  float operator()(uint8_t v) const { return (static_cast<float>(v) - mean) * scale; }
};
struct U8Convert {
  uint8_t operator()(uint8_t v) const { return v; }
};

// Writes resized rows (given as three planar R, G, B rows, resized_width long) and the padding.
template <typename T, typename Convert>
class TensorWriter {
 public:
  TensorWriter(T* data, const InputSpec& spec, const Geometry& g, Convert convert)
      : data_(data),
        spec_(spec),
        g_(g),
        convert_(convert),
        pad_(convert(static_cast<uint8_t>(std::clamp(spec.pad_value, 0, 255)))) {
    // Tensor channel k takes source (RGB) channel src_channel_[k].
    for (int k = 0; k < 3; ++k) src_channel_[k] = spec.color == ColorOrder::kBGR ? 2 - k : k;
  }

  void ImageRow(int y, const uint8_t* const planes[3]) {
    const int W = spec_.width, n = g_.resized_width;
    const int x0 = g_.pad_x, x1 = g_.pad_x + n;
    const int ty = y + g_.pad_y;
    if (spec_.layout == TensorLayout::kNCHW) {
      const size_t plane = static_cast<size_t>(spec_.width) * spec_.height;
      for (int k = 0; k < 3; ++k) {
        T* row = data_ + plane * k + static_cast<size_t>(ty) * W;
        std::fill(row, row + x0, pad_);
        std::fill(row + x1, row + W, pad_);
        const uint8_t* __restrict src = planes[src_channel_[k]];
        T* __restrict out = row + x0;
        for (int x = 0; x < n; ++x) out[x] = convert_(src[x]);
      }
    } else {
      T* row = data_ + static_cast<size_t>(ty) * W * 3;
      std::fill(row, row + x0 * 3, pad_);
      std::fill(row + x1 * 3, row + W * 3, pad_);
      T* __restrict out = row + x0 * 3;
      const uint8_t* p0 = planes[src_channel_[0]];
      const uint8_t* p1 = planes[src_channel_[1]];
      const uint8_t* p2 = planes[src_channel_[2]];
      for (int x = 0; x < n; ++x) {
        out[x * 3 + 0] = convert_(p0[x]);
        out[x * 3 + 1] = convert_(p1[x]);
        out[x * 3 + 2] = convert_(p2[x]);
      }
    }
  }

  void PadRow(int ty) {
    const int W = spec_.width;
    if (spec_.layout == TensorLayout::kNCHW) {
      const size_t plane = static_cast<size_t>(spec_.width) * spec_.height;
      for (int k = 0; k < 3; ++k) {
        T* row = data_ + plane * k + static_cast<size_t>(ty) * W;
        std::fill(row, row + W, pad_);
      }
    } else {
      T* row = data_ + static_cast<size_t>(ty) * W * 3;
      std::fill(row, row + W * 3, pad_);
    }
  }

 private:
  T* data_;
  const InputSpec& spec_;
  const Geometry& g_;
  Convert convert_;
  T pad_;
  int src_channel_[3];
};

template <typename T, typename Convert>
void Render(const Image& image, const InputSpec& spec, const Geometry& g, Convert convert, T* data) {
  TensorWriter<T, Convert> writer(data, spec, g, convert);
  for (int ty = 0; ty < g.pad_y; ++ty) writer.PadRow(ty);
  for (int ty = g.pad_y + g.resized_height; ty < spec.height; ++ty) writer.PadRow(ty);

  const int n = g.resized_width;
  std::vector<uint8_t> buffer(static_cast<size_t>(n) * 3);
  const uint8_t* const planes[3] = {buffer.data(), buffer.data() + n, buffer.data() + 2 * n};
  if (image.width == g.resized_width && image.height == g.resized_height) {
    for (int y = 0; y < g.resized_height; ++y) {
      const uint8_t* src = image.rgb.data() + static_cast<size_t>(y) * image.width * 3;
      for (int x = 0; x < n; ++x) {
        buffer[x] = src[x * 3];
        buffer[n + x] = src[x * 3 + 1];
        buffer[2 * n + x] = src[x * 3 + 2];
      }
      writer.ImageRow(y, planes);
    }
    return;
  }
  const HorizontalTaps htaps = BuildHorizontalTaps(image.width, g.resized_width);
  const std::vector<VerticalTap> vtaps = BuildVerticalTaps(image.height, g.resized_height);
  RowCache cache(image, htaps, g.resized_width);
  for (int y = 0; y < g.resized_height; ++y) {
    const VerticalTap& t = vtaps[y];
    const int16_t* h0 = cache.Row(t.row0, t.row1);
    const int16_t* h1 = cache.Row(t.row1, t.row0);
    VerticalPass(h0, h1, t.weight0, t.weight1, n * 3, buffer.data());
    writer.ImageRow(y, planes);
  }
}

}  // namespace

Box LetterboxTransform::ToOriginal(const Box& model_box) const {
  const float sx = scale_x != 0 ? scale_x : 1.f;
  const float sy = scale_y != 0 ? scale_y : 1.f;
  Box b{(model_box.x_min - pad_x) / sx, (model_box.y_min - pad_y) / sy, (model_box.x_max - pad_x) / sx,
        (model_box.y_max - pad_y) / sy};
  if (original_width > 0) {
    const float w = static_cast<float>(original_width);
    b.x_min = std::clamp(b.x_min, 0.f, w);
    b.x_max = std::clamp(b.x_max, 0.f, w);
  }
  if (original_height > 0) {
    const float h = static_cast<float>(original_height);
    b.y_min = std::clamp(b.y_min, 0.f, h);
    b.y_max = std::clamp(b.y_max, 0.f, h);
  }
  return b;
}

StatusOr<Tensor> PrepareInput(const Image& image, const InputSpec& spec, LetterboxTransform* transform) {
  if (image.width <= 0 || image.height <= 0 ||
      image.rgb.size() != static_cast<size_t>(image.width) * image.height * 3) {
    return InvalidArgument("image pixel buffer does not match its dimensions " + std::to_string(image.width) +
                           "x" + std::to_string(image.height));
  }
  if (spec.width <= 0 || spec.height <= 0) {
    return InvalidArgument("model input size " + std::to_string(spec.width) + "x" +
                           std::to_string(spec.height) + " is invalid");
  }
  if (spec.channels != 3) {
    return Unimplemented("model inputs with " + std::to_string(spec.channels) +
                         " channels are not supported");
  }
  if (spec.dtype != DType::kFloat32 && spec.dtype != DType::kUInt8) {
    return Unimplemented("model input dtype " + std::string(DTypeName(spec.dtype)) + " is not supported");
  }
  // Geometry is computed from the original dimensions (boxes come back in original pixels); the pixels are
  // resampled from whatever resolution the decoder produced.
  const int original_width = image.original_width > 0 ? image.original_width : image.width;
  const int original_height = image.original_height > 0 ? image.original_height : image.height;
  const Geometry g = ComputeGeometry(original_width, original_height, spec);

  std::vector<int64_t> shape = spec.layout == TensorLayout::kNCHW
                                   ? std::vector<int64_t>{1, 3, spec.height, spec.width}
                                   : std::vector<int64_t>{1, spec.height, spec.width, 3};
  Tensor tensor(spec.dtype, std::move(shape), spec.name);
  if (spec.dtype == DType::kFloat32) {
    Render<float>(image, spec, g, FloatConvert{spec.mean, spec.scale}, tensor.data<float>());
  } else {
    Render<uint8_t>(image, spec, g, U8Convert{}, tensor.data<uint8_t>());
  }

  if (transform != nullptr) {
    transform->scale_x = static_cast<float>(g.scale_x);
    transform->scale_y = static_cast<float>(g.scale_y);
    transform->pad_x = static_cast<float>(g.pad_x);
    transform->pad_y = static_cast<float>(g.pad_y);
    transform->original_width = original_width;
    transform->original_height = original_height;
  }
  return tensor;
}

}  // namespace accel
