#include "vision/hailo_nms.h"

#include <cmath>
#include <cstring>
#include <string>

namespace accel {
namespace {

// memcpy, not a cast: BY_SCORE records are unaligned, and tensors from other engines may be too.
float ReadF32(const uint8_t* p) {
  float v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

uint16_t ReadU16(const uint8_t* p) {
  uint16_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

bool Finite(const HailoNmsBox& b) {
  return std::isfinite(b.score) && std::isfinite(b.y_min) && std::isfinite(b.x_min) &&
         std::isfinite(b.y_max) && std::isfinite(b.x_max);
}

}  // namespace

size_t HailoNmsByClassBytes(int classes, int max_boxes_per_class) {
  if (classes <= 0 || max_boxes_per_class < 0) return 0;
  return static_cast<size_t>(classes) * (1 + kHailoBoxFloats * static_cast<size_t>(max_boxes_per_class)) *
         sizeof(float);
}

size_t HailoNmsByScoreBytes(int max_boxes_total) {
  if (max_boxes_total < 0) return 0;
  return kHailoDetectionCountBytes + kHailoDetectionBytes * static_cast<size_t>(max_boxes_total);
}

StatusOr<std::vector<HailoNmsBox>> ParseHailoNmsByClass(const uint8_t* data, size_t bytes,
                                                        int max_boxes_per_class) {
  if (max_boxes_per_class <= 0) return InvalidArgument("hailo NMS: decoder.max_boxes_per_class must be > 0");
  const size_t slot_bytes = HailoNmsByClassBytes(1, max_boxes_per_class);
  if (bytes == 0 || bytes % slot_bytes != 0) {
    return Internal("hailo NMS by class: output of " + std::to_string(bytes) +
                    " bytes is not a whole number of classes x (1 + 5 x " +
                    std::to_string(max_boxes_per_class) +
                    ") float32; does decoder.max_boxes_per_class match "
                    "the HEF?");
  }
  const size_t classes = bytes / slot_bytes;
  const size_t floats = bytes / sizeof(float);
  std::vector<HailoNmsBox> boxes;
  size_t at = 0;  // in floats
  for (size_t c = 0; c < classes; ++c) {
    if (at >= floats) return Internal("hailo NMS by class: frame ends before class " + std::to_string(c));
    const float count_f = ReadF32(data + at * sizeof(float));
    ++at;
    if (!std::isfinite(count_f) || count_f < 0 || count_f != std::floor(count_f) ||
        count_f > static_cast<float>(max_boxes_per_class)) {
      return Internal("hailo NMS by class: class " + std::to_string(c) + " has a box count of " +
                      std::to_string(count_f) + " (max " + std::to_string(max_boxes_per_class) + ")");
    }
    const size_t count = static_cast<size_t>(count_f);
    if (at + count * kHailoBoxFloats > floats)
      return Internal("hailo NMS by class: boxes of class " + std::to_string(c) + " run past the frame");
    for (size_t i = 0; i < count; ++i) {
      const uint8_t* p = data + (at + i * kHailoBoxFloats) * sizeof(float);
      HailoNmsBox b;
      b.class_id = static_cast<int>(c);
      b.y_min = ReadF32(p);
      b.x_min = ReadF32(p + 4);
      b.y_max = ReadF32(p + 8);
      b.x_max = ReadF32(p + 12);
      b.score = ReadF32(p + 16);
      boxes.push_back(b);
    }
    at += count * kHailoBoxFloats;
  }
  return boxes;
}

StatusOr<std::vector<HailoNmsBox>> ParseHailoNmsByScore(const uint8_t* data, size_t bytes) {
  if (bytes < kHailoDetectionCountBytes)
    return Internal("hailo NMS by score: frame of " + std::to_string(bytes) + " bytes has no count");
  const size_t count = ReadU16(data);
  if (kHailoDetectionCountBytes + count * kHailoDetectionBytes > bytes) {
    return Internal("hailo NMS by score: " + std::to_string(count) + " detections do not fit in " +
                    std::to_string(bytes) + " bytes");
  }
  std::vector<HailoNmsBox> boxes;
  boxes.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    const uint8_t* p = data + kHailoDetectionCountBytes + i * kHailoDetectionBytes;
    HailoNmsBox b;
    b.y_min = ReadF32(p);
    b.x_min = ReadF32(p + 4);
    b.y_max = ReadF32(p + 8);
    b.x_max = ReadF32(p + 12);
    b.score = ReadF32(p + 16);
    b.class_id = ReadU16(p + 20);
    boxes.push_back(b);
  }
  return boxes;
}

StatusOr<std::vector<Detection>> DecodeHailoNms(const ModelConfig& model, const TensorList& outputs,
                                                const LetterboxTransform& transform,
                                                const DetectionFilter& filter) {
  if (outputs.empty()) return Internal("hailo NMS: the model produced no output tensor");
  const Tensor& frame = outputs[0];
  const bool by_class = model.decoder.family == "hailo_nms_by_class";
  if (!by_class && model.decoder.family != "hailo_nms_by_score")
    return InvalidArgument("hailo NMS: decoder family '" + model.decoder.family + "' is not a Hailo layout");
  auto parsed =
      by_class ? ParseHailoNmsByClass(frame.bytes(), frame.byte_size(), model.decoder.max_boxes_per_class)
               : ParseHailoNmsByScore(frame.bytes(), frame.byte_size());
  if (!parsed.ok()) return parsed.status();

  const float width = static_cast<float>(model.input.width);
  const float height = static_cast<float>(model.input.height);
  std::vector<Detection> detections;
  detections.reserve(parsed->size());
  for (const HailoNmsBox& b : *parsed) {
    // NaN or infinite values can only come from a corrupt frame; dropping the box beats propagating it.
    if (!Finite(b) || b.score < model.decoder.min_confidence) continue;
    Box in_model;
    in_model.x_min = std::fmin(b.x_min, b.x_max) * width;
    in_model.x_max = std::fmax(b.x_min, b.x_max) * width;
    in_model.y_min = std::fmin(b.y_min, b.y_max) * height;
    in_model.y_max = std::fmax(b.y_min, b.y_max) * height;
    Detection d;
    d.class_id = b.class_id + model.decoder.class_id_offset;
    d.label = model.LabelFor(d.class_id);
    d.confidence = std::fmin(std::fmax(b.score, 0.0f), 1.0f);
    d.box = transform.ToOriginal(in_model);
    detections.push_back(std::move(d));
  }
  ApplyFilter(detections, filter);
  if (model.decoder.max_detections >= 0 &&
      detections.size() > static_cast<size_t>(model.decoder.max_detections)) {
    detections.resize(model.decoder.max_detections);
  }
  return detections;
}

}  // namespace accel
