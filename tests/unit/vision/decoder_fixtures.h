// Helpers for the decoder unit tests: output tensors built by hand, models with a given family and a
// letterbox whose mapping back to the original image is easy to compute by hand.
#pragma once

#include <gtest/gtest.h>

#include <initializer_list>
#include <string>
#include <vector>

#include "core/model_config.h"
#include "core/tensor.h"
#include "vision/detection.h"
#include "vision/preprocess.h"

namespace accel::testing {

// A zero-filled float32 tensor.
inline Tensor Zeros(std::vector<int64_t> shape, std::string name = "out") {
  Tensor t(DType::kFloat32, std::move(shape), std::move(name));
  std::fill(t.data<float>(), t.data<float>() + t.num_elements(), 0.f);
  return t;
}

// Writes `value` at the multi-index `at` (row-major).
inline void Set(Tensor& t, std::initializer_list<int64_t> at, float value) {
  int64_t offset = 0;
  size_t d = 0;
  for (int64_t i : at) offset = offset * t.shape()[d++] + i;
  ASSERT_EQ(d, t.shape().size());
  t.data<float>()[offset] = value;
}

// Writes `values` from the multi-index `at` on along the last dimension.
inline void SetRow(Tensor& t, std::initializer_list<int64_t> at, std::initializer_list<float> values) {
  std::vector<int64_t> index(at);
  for (float v : values) {
    int64_t offset = 0;
    for (size_t d = 0; d < index.size(); ++d) offset = offset * t.shape()[d] + index[d];
    t.data<float>()[offset] = v;
    ++index.back();
  }
}

inline TensorList List(Tensor a) {
  TensorList l;
  l.push_back(std::move(a));
  return l;
}

inline TensorList List(Tensor a, Tensor b) {
  TensorList l = List(std::move(a));
  l.push_back(std::move(b));
  return l;
}

inline TensorList List(Tensor a, Tensor b, Tensor c, Tensor d) {
  TensorList l = List(std::move(a), std::move(b));
  l.push_back(std::move(c));
  l.push_back(std::move(d));
  return l;
}

// A 64x64 model of `family` with the given declared item shapes and labels cat, dog, bird.
inline ModelConfig Model(const std::string& family, std::vector<std::vector<int64_t>> output_shapes) {
  ModelConfig m;
  m.name = family + "-test";
  m.input.width = 64;
  m.input.height = 64;
  m.decoder.family = family;
  for (size_t i = 0; i < output_shapes.size(); ++i)
    m.outputs.push_back({"out" + std::to_string(i), output_shapes[i], DType::kFloat32});
  m.labels = {"cat", "dog", "bird"};
  return m;
}

// A 128x96 image letterboxed into 64x64 (centred): scale 0.5, 8 rows of padding on top. A model box
// (x1, y1, x2, y2) is (2 * x1, 2 * (y1 - 8), 2 * x2, 2 * (y2 - 8)) in the image, clipped to 128x96.
inline LetterboxTransform Letterbox() {
  LetterboxTransform t;
  t.scale_x = t.scale_y = 0.5f;
  t.pad_y = 8;
  t.original_width = 128;
  t.original_height = 96;
  return t;
}

inline void ExpectBox(const Detection& d, float x_min, float y_min, float x_max, float y_max) {
  EXPECT_NEAR(d.box.x_min, x_min, 1e-3);
  EXPECT_NEAR(d.box.y_min, y_min, 1e-3);
  EXPECT_NEAR(d.box.x_max, x_max, 1e-3);
  EXPECT_NEAR(d.box.y_max, y_max, 1e-3);
}

inline DetectionFilter Threshold(float threshold) {
  DetectionFilter f;
  f.threshold = threshold;
  return f;
}

}  // namespace accel::testing
