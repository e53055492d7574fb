// The model.yaml side of loading a HEF: which host formats to ask HailoRT for, and whether what the HEF
// reports matches what model.yaml promises. HailoRT's InferModel streams are copied into HefStreamDesc by
// hailo_engine.cc, so every rule here is tested without the SDK.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/model_config.h"
#include "core/status.h"
#include "core/tensor.h"

namespace accel {

// hailo_format_type_t and hailo_format_order_t values used here (HailoRT 4.23; static_asserted in
// hailo_engine.cc).
inline constexpr int kHailoFormatTypeAuto = 0;
inline constexpr int kHailoFormatTypeUint8 = 1;
inline constexpr int kHailoFormatTypeUint16 = 2;
inline constexpr int kHailoFormatTypeFloat32 = 3;
inline constexpr int kHailoFormatOrderNhwc = 1;
inline constexpr int kHailoFormatOrderNchw = 11;
inline constexpr int kHailoFormatOrderNmsByClass = 22;
inline constexpr int kHailoFormatOrderNmsByScore = 23;

enum class HailoNmsOrder { kByClass, kByScore };

// What the engine asks HailoRT for, derived from model.yaml alone.
struct HailoModelPlan {
  std::string hef_path;
  int input_format_type = kHailoFormatTypeUint8;   // from input.dtype
  int input_format_order = kHailoFormatOrderNhwc;  // from input.layout
  HailoNmsOrder nms_order = HailoNmsOrder::kByClass;
  int output_format_type = kHailoFormatTypeFloat32;  // NMS host outputs are float32 in both layouts
  int output_format_order = kHailoFormatOrderNmsByClass;
  float nms_score_threshold = 0;  // decoder.min_confidence
  float nms_iou_threshold = 0;    // decoder.nms_iou
  int max_boxes_per_class = 0;    // decoder.max_boxes_per_class (BY_CLASS)
  int max_boxes_total = 0;        // decoder.max_detections (BY_SCORE)
};

// Fails (FailedPrecondition / InvalidArgument) when the model has no hef artifact, its decoder family is not
// a Hailo NMS layout, or its input cannot be fed to HailoRT.
StatusOr<HailoModelPlan> PlanHailoModel(const ModelConfig& model);

// One InferModel stream, as HailoRT reports it after the plan's formats were set.
struct HefStreamDesc {
  std::string name;
  uint32_t height = 0, width = 0, features = 0;  // InferStream::shape()
  int format_type = 0;
  int format_order = 0;
  size_t frame_size = 0;  // InferStream::get_frame_size(), bytes
  bool is_nms = false;
  // InferStream::get_nms_shape(), when is_nms.
  uint32_t nms_classes = 0, nms_max_boxes_per_class = 0, nms_max_boxes_total = 0;
};

// The HEF must have one input whose shape equals model.yaml's (height, width, channels) and whose frame is
// exactly one item of the model's input tensor.
Status CheckHefInputs(const ModelConfig& model, const std::vector<HefStreamDesc>& inputs);
// The HEF must have one NMS output in the planned layout whose frame size matches the layout's formula.
// Returns a warning (empty if none) when its class count differs from the number of labels.
StatusOr<std::string> CheckHefOutputs(const ModelConfig& model, const HailoModelPlan& plan,
                                      const std::vector<HefStreamDesc>& outputs);

// The per-item output tensor the engine hands back: float32 [1, frame/4] for BY_CLASS, uint8 [1, frame]
// for BY_SCORE (its 22-byte records are not a whole number of floats).
DType HailoOutputDType(HailoNmsOrder order);
std::vector<int64_t> HailoOutputShape(HailoNmsOrder order, size_t frame_size);

}  // namespace accel
