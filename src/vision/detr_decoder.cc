#include "vision/detr_decoder.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "core/decoder_families.h"
#include "vision/decoder_support.h"

namespace accel {

StatusOr<std::vector<Detection>> DecodeDetr(const ModelConfig& model, const TensorList& outputs,
                                            const LetterboxTransform& transform,
                                            const DetectionFilter& filter) {
  ACCEL_ASSIGN_OR_RETURN(Activation activation, ActivationOf(model));
  ACCEL_RETURN_IF_ERROR(CheckOutputCount(model, outputs, 2));
  ACCEL_ASSIGN_OR_RETURN(std::vector<int64_t> boxes, ItemShape(model, outputs, 0));
  ACCEL_ASSIGN_OR_RETURN(std::vector<int64_t> logits, ItemShape(model, outputs, 1));
  if (outputs[0].dtype() != DType::kFloat32 || boxes.size() != 2 || boxes[1] != 4)
    return OutputMismatch(model, outputs[0], "boxes float32[N, 4]");
  const int64_t columns = logits.size() == 2 ? logits[1] : 0;
  const int64_t classes = columns - (model.decoder.no_object_class ? 1 : 0);
  if (outputs[1].dtype() != DType::kFloat32 || logits.size() != 2 || logits[0] != boxes[0] || classes < 1)
    return OutputMismatch(model, outputs[1], "logits float32[" + std::to_string(boxes[0]) + ", classes]");
  const float width = static_cast<float>(model.input.width), height = static_cast<float>(model.input.height);
  const float threshold = CandidateThreshold(model, filter);
  const float* box = outputs[0].data<float>();
  const float* logit = outputs[1].data<float>();
  std::vector<Detection> candidates;
  for (int64_t q = 0; q < boxes[0]; ++q) {
    const float* row = logit + q * columns;
    const float* best = std::max_element(row, row + classes);
    float confidence = *best;
    if (activation == Activation::kSigmoid) {
      confidence = 1.f / (1.f + std::exp(-*best));
    } else if (activation == Activation::kSoftmax) {
      // Over every column, "no object" included, shifted by the maximum so that exp cannot overflow.
      const float top = *std::max_element(row, row + columns);
      float sum = 0;
      for (int64_t c = 0; c < columns; ++c) sum += std::exp(row[c] - top);
      confidence = std::exp(*best - top) / sum;
    }
    if (!(confidence >= threshold)) continue;
    const float* b = box + q * 4;
    const float cx = b[0] * width, cy = b[1] * height, w = b[2] * width, h = b[3] * height;
    AddCandidate(candidates, static_cast<int>(best - row), confidence, cx - w / 2, cy - h / 2, cx + w / 2,
                 cy + h / 2);
  }
  return FinishDetections(model, std::move(candidates), transform, filter, /*nms=*/false);
}

}  // namespace accel
