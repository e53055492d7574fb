// Model input preparation: letterbox (per model.yaml), colour order, layout, dtype and normalisation.
#pragma once

#include "core/model_config.h"
#include "core/status.h"
#include "core/tensor.h"
#include "vision/detection.h"
#include "vision/image.h"

namespace accel {

// Maps model-input coordinates back to original-image pixels:
//   x_orig = (x_model - pad_x) / scale_x,  y_orig = (y_model - pad_y) / scale_y
// where scale_* is model pixels per *original* pixel (decode downscaling already folded in).
struct LetterboxTransform {
  float scale_x = 1, scale_y = 1;
  float pad_x = 0, pad_y = 0;
  int original_width = 0, original_height = 0;

  Box ToOriginal(const Box& model_box) const;  // also clips to the original image
};

// Letterboxes `image` to the model's input size with bilinear interpolation (half-pixel centres, as
// OpenCV's INTER_LINEAR) and writes the tensor the model expects, shape [1, ...InputItemShape()].
StatusOr<Tensor> PrepareInput(const Image& image, const InputSpec& spec, LetterboxTransform* transform);

}  // namespace accel
