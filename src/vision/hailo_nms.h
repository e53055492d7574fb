// Decoders for HailoRT's host-side NMS outputs (HAILO_NMS_BY_CLASS and HAILO_NMS_BY_SCORE), selected by
// model.yaml decoder.family "hailo_nms_by_class" / "hailo_nms_by_score". Boxes arrive normalised to the
// model input; they are mapped back through the letterbox to original-image pixels.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/model_config.h"
#include "core/status.h"
#include "core/tensor.h"
#include "vision/detection.h"
#include "vision/preprocess.h"

namespace accel {

// Host-side NMS layouts, as documented in HailoRT 4.23's hailort.h (hailo_format_order_t) and checked
// against its structs by the engine's compile check (static_asserts in src/engines/hailo/hailo_engine.cc):
//
// HAILO_NMS_BY_CLASS, float32: for each class c in [0, classes), back to back:
//   float32 count; then `count` boxes of 5 float32 [y_min, x_min, y_max, x_max, score].
//   Classes are packed: class c+1 starts right after class c's last box, not at a fixed slot. The frame is
//   sized for the worst case, classes * (1 + 5 * max_boxes_per_class) floats; the tail is unused.
//   The class id is the class's position c.
// HAILO_NMS_BY_SCORE (packed, no padding anywhere):
//   uint16 count; then `count` records of 22 bytes: float32 y_min, x_min, y_max, x_max, score; uint16
//   class_id. Records are therefore unaligned. The frame is 2 + 22 * max_boxes_total bytes.
// Coordinates are normalised to the model input (0..1). Multi-byte values are in host byte order.
inline constexpr size_t kHailoBoxFloats = 5;
inline constexpr size_t kHailoDetectionBytes = 22;
inline constexpr size_t kHailoDetectionCountBytes = 2;

// One box as HailoRT reports it: class index as found in the buffer, coordinates normalised.
struct HailoNmsBox {
  int class_id = 0;
  float score = 0;
  float y_min = 0, x_min = 0, y_max = 0, x_max = 0;
};

// Frame sizes in bytes of the two layouts.
size_t HailoNmsByClassBytes(int classes, int max_boxes_per_class);
size_t HailoNmsByScoreBytes(int max_boxes_total);

// Parse one frame. BY_CLASS infers the number of classes from the size (which must be a whole number of
// per-class slots of 1 + 5 * max_boxes_per_class floats). Both reject counts that run past the buffer or
// exceed the maximum (InvalidArgument is not used: a malformed frame is our fault or the device's, so the
// errors are Internal). No alignment is assumed of `data`.
StatusOr<std::vector<HailoNmsBox>> ParseHailoNmsByClass(const uint8_t* data, size_t bytes,
                                                        int max_boxes_per_class);
StatusOr<std::vector<HailoNmsBox>> ParseHailoNmsByScore(const uint8_t* data, size_t bytes);

// Decodes outputs[0] (the raw NMS frame, any dtype: read as bytes) of a model whose decoder.family is
// "hailo_nms_by_class" or "hailo_nms_by_score": scales boxes by the model input size, maps them through
// the letterbox to original pixels, adds decoder.class_id_offset, labels them, drops boxes under
// decoder.min_confidence, then applies `filter` and decoder.max_detections.
StatusOr<std::vector<Detection>> DecodeHailoNms(const ModelConfig& model, const TensorList& outputs,
                                                const LetterboxTransform& transform,
                                                const DetectionFilter& filter);

}  // namespace accel
