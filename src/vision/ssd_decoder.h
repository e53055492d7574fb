// Decoder of SSD-style outputs with NMS done by the model (decoder.family `ssd`), in two forms
// (core/decoder_families.h tells them apart by the number of outputs):
//   tensors          boxes [N, 4] (y_min, x_min, y_max, x_max, normalised 0..1 to the model input),
//                    classes [N], scores [N] and optionally count [] or [1]: the TF object detection API's
//                    and TFLite's detection post-process (Frigate's default SSD). With a count, only the
//                    first `count` rows are read.
//   DetectionOutput  [1, N, 7] or [N, 7] rows of (image id, class, score, x_min, y_min, x_max, y_max),
//                    normalised (Caffe / OpenVINO DetectionOutput); a negative image id ends the list.
// Class ids are used as the model reports them (plus decoder.class_id_offset): TF models count from 1
// (labels: coco91), TFLite's post-process from 0. Boxes and scores are float32; classes and counts may be
// float or integer. Outputs are one item's (leading batch dimension 1). Pure and thread-safe.
#pragma once

#include <vector>

#include "core/model_config.h"
#include "core/status.h"
#include "core/tensor.h"
#include "vision/detection.h"
#include "vision/preprocess.h"

namespace accel {

StatusOr<std::vector<Detection>> DecodeSsd(const ModelConfig& model, const TensorList& outputs,
                                           const LetterboxTransform& transform,
                                           const DetectionFilter& filter);

}  // namespace accel
