// Classification results (decoder.family `classification`): one output [C] of logits or probabilities
// per item becomes the best classes, each with its label and confidence.
#pragma once

#include <string>
#include <vector>

#include "core/model_config.h"
#include "core/status.h"
#include "core/tensor.h"
#include "vision/detection.h"

namespace accel {

struct Classification {
  int class_id = 0;
  std::string label;
  float confidence = 0;  // 0..1 after decoder.activation
};

// decoder.activation (none, sigmoid or softmax) over the C values of outputs[0] (one item: [1, C], float32),
// then the best decoder.top_k classes at or above the request's threshold (never below
// decoder.min_confidence), best first, with decoder.class_id_offset and labels; then the request's targets
// and max_results. Internal error when the output does not match. Pure and thread-safe.
StatusOr<std::vector<Classification>> DecodeClassification(const ModelConfig& model,
                                                           const TensorList& outputs,
                                                           const DetectionFilter& filter);

}  // namespace accel
