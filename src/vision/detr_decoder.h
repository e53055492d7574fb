// Decoder of DETR-style set predictions (decoder.family `detr`: RF-DETR, D-FINE and DETR exported without
// their post-processor): boxes [N, 4] (cx, cy, w, h, normalised 0..1 to the model input) and class logits
// [N, C], one detection per query. decoder.activation turns logits into confidences: sigmoid (default;
// RF-DETR, D-FINE), softmax (DETR; with decoder.no_object_class the last column is "no object" and never
// reported) or none. Each query reports its best class; no NMS (a set predictor has none). Outputs are one
// item's (leading batch dimension 1), float32. Pure and thread-safe.
#pragma once

#include <vector>

#include "core/model_config.h"
#include "core/status.h"
#include "core/tensor.h"
#include "vision/detection.h"
#include "vision/preprocess.h"

namespace accel {

StatusOr<std::vector<Detection>> DecodeDetr(const ModelConfig& model, const TensorList& outputs,
                                            const LetterboxTransform& transform,
                                            const DetectionFilter& filter);

}  // namespace accel
