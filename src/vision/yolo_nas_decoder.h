// Decoder of YOLO-NAS outputs (decoder.family `yolo-nas`), in the three forms super-gradients exports
// (core/decoder_families.h tells them apart by the number of outputs):
//   raw    boxes [N, 4] (x1, y1, x2, y2, model-input pixels) and scores [N, C] (already sigmoid-ed): the
//          best class of each box, threshold, class-aware NMS;
//   flat   [N, 7] rows of (batch index, x1, y1, x2, y2, score, class), NMS done by the model; rows with a
//          negative class are padding;
//   batch  count [1], boxes [N, 4], scores [N], classes [N], NMS done; the first `count` rows are read.
// Scores and boxes are float32; classes and counts may be float or integer. Outputs are one item's
// (leading batch dimension 1). Pure and thread-safe.
#pragma once

#include <vector>

#include "core/model_config.h"
#include "core/status.h"
#include "core/tensor.h"
#include "vision/detection.h"
#include "vision/preprocess.h"

namespace accel {

StatusOr<std::vector<Detection>> DecodeYoloNas(const ModelConfig& model, const TensorList& outputs,
                                               const LetterboxTransform& transform,
                                               const DetectionFilter& filter);

}  // namespace accel
