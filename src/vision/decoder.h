// Detection decoders: turn a model's raw output tensors for one item into detections in original-image
// pixels. Which decoder runs is chosen by model.yaml's decoder.family (the families and their output
// contracts: core/decoder_families.h); the decoders live one concept per file (yolo_decoders,
// yolo_nas_decoder, ssd_decoder, detr_decoder, hailo_nms; classification models: classification.h).
#pragma once

#include <vector>

#include "core/model_config.h"
#include "core/status.h"
#include "core/tensor.h"
#include "vision/detection.h"
#include "vision/preprocess.h"

namespace accel {

// Decodes one item's outputs (batch dimension 1), applies class-aware NMS where the family needs it,
// labels from the model, and the filter. Internal error when the outputs do not match the family's
// contract; InvalidArgument for a classification or raw model (no boxes). Pure and thread-safe.
StatusOr<std::vector<Detection>> DecodeDetections(const ModelConfig& model, const TensorList& outputs,
                                                  const LetterboxTransform& transform,
                                                  const DetectionFilter& filter);

// Class-aware non-maximum suppression: within each class, drops boxes whose IoU with a higher-scoring kept
// box exceeds `iou_threshold`. Returns the kept detections sorted by confidence, descending.
std::vector<Detection> NonMaxSuppression(std::vector<Detection> candidates, float iou_threshold,
                                         int max_detections);

}  // namespace accel
