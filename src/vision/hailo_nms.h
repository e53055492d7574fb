// Decoders for HailoRT's host-side NMS outputs (HAILO_NMS_BY_CLASS and HAILO_NMS_BY_SCORE), selected by
// model.yaml decoder.family "hailo_nms_by_class" / "hailo_nms_by_score". Boxes arrive normalised to the
// model input; they are mapped back through the letterbox to original-image pixels.
#pragma once

#include <vector>

#include "core/model_config.h"
#include "core/status.h"
#include "core/tensor.h"
#include "vision/detection.h"
#include "vision/preprocess.h"

namespace accel {

StatusOr<std::vector<Detection>> DecodeHailoNms(const ModelConfig& model, const TensorList& outputs,
                                                const LetterboxTransform& transform,
                                                const DetectionFilter& filter);

}  // namespace accel
