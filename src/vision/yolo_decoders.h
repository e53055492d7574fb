// Decoders of YOLO heads that come out of the network before NMS, one box per candidate (the layouts are
// in core/decoder_families.h): `yolox` (raw YOLOX head, decoded against its anchor grid), `yolov5`
// ([N, 5 + C]: cx, cy, w, h, objectness, class scores) and `yolo-generic` (anchor-free YOLOv8/v9/v11
// heads, [4 + C, N] or [N, 4 + C]: cx, cy, w, h, class scores). Boxes are in model-input pixels; each
// decoder keeps the best class of every candidate at or above the threshold, runs class-aware NMS and
// finishes as FinishDetections says. Outputs are one item's (leading batch dimension 1), float32;
// anything else is an Internal error naming the model. Pure and thread-safe.
#pragma once

#include <vector>

#include "core/model_config.h"
#include "core/status.h"
#include "core/tensor.h"
#include "vision/detection.h"
#include "vision/preprocess.h"

namespace accel {

StatusOr<std::vector<Detection>> DecodeYolox(const ModelConfig& model, const TensorList& outputs,
                                             const LetterboxTransform& transform,
                                             const DetectionFilter& filter);

StatusOr<std::vector<Detection>> DecodeYolov5(const ModelConfig& model, const TensorList& outputs,
                                              const LetterboxTransform& transform,
                                              const DetectionFilter& filter);

StatusOr<std::vector<Detection>> DecodeYoloGeneric(const ModelConfig& model, const TensorList& outputs,
                                                   const LetterboxTransform& transform,
                                                   const DetectionFilter& filter);

}  // namespace accel
