#include "vision/ssd_decoder.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <string>

#include "core/decoder_families.h"
#include "vision/decoder_support.h"

namespace accel {
namespace {

StatusOr<std::vector<Detection>> DecodeTensors(const ModelConfig& model, const TensorList& outputs,
                                               const LetterboxTransform& transform,
                                               const DetectionFilter& filter) {
  if (outputs.size() != 3) ACCEL_RETURN_IF_ERROR(CheckOutputCount(model, outputs, 4));
  ACCEL_ASSIGN_OR_RETURN(std::vector<int64_t> boxes, ItemShape(model, outputs, 0));
  ACCEL_ASSIGN_OR_RETURN(std::vector<int64_t> classes, ItemShape(model, outputs, 1));
  ACCEL_ASSIGN_OR_RETURN(std::vector<int64_t> scores, ItemShape(model, outputs, 2));
  if (outputs[0].dtype() != DType::kFloat32 || boxes.size() != 2 || boxes[1] != 4)
    return OutputMismatch(model, outputs[0], "boxes float32[N, 4]");
  const int64_t n = boxes[0];
  if (classes != std::vector<int64_t>{n})
    return OutputMismatch(model, outputs[1], "classes [" + std::to_string(n) + "]");
  if (outputs[2].dtype() != DType::kFloat32 || scores != std::vector<int64_t>{n})
    return OutputMismatch(model, outputs[2], "scores float32[" + std::to_string(n) + "]");
  int64_t rows = n;
  if (outputs.size() == 4) {
    ACCEL_ASSIGN_OR_RETURN(std::vector<int64_t> count, ItemShape(model, outputs, 3));
    if (outputs[3].num_elements() != 1) return OutputMismatch(model, outputs[3], "count [] or [1]");
    const float declared = ValueAt(outputs[3], 0);
    rows = std::isfinite(declared) ? std::clamp<int64_t>(static_cast<int64_t>(declared), 0, n) : 0;
  }
  const float width = static_cast<float>(model.input.width), height = static_cast<float>(model.input.height);
  const float threshold = CandidateThreshold(model, filter);
  const float* box = outputs[0].data<float>();
  const float* score = outputs[2].data<float>();
  std::vector<Detection> candidates;
  for (int64_t i = 0; i < rows; ++i) {
    const std::optional<int> class_id = ClassIdOf(ValueAt(outputs[1], i));
    if (!class_id || !(score[i] >= threshold)) continue;
    const float* b = box + i * 4;  // y_min, x_min, y_max, x_max
    AddCandidate(candidates, *class_id, score[i], b[1] * width, b[0] * height, b[3] * width, b[2] * height);
  }
  return FinishDetections(model, std::move(candidates), transform, filter, /*nms=*/false);
}

StatusOr<std::vector<Detection>> DecodeDetectionOutput(const ModelConfig& model, const TensorList& outputs,
                                                       const LetterboxTransform& transform,
                                                       const DetectionFilter& filter) {
  ACCEL_RETURN_IF_ERROR(CheckOutputCount(model, outputs, 1));
  ACCEL_ASSIGN_OR_RETURN(std::vector<int64_t> shape, ItemShape(model, outputs, 0));
  const bool ok = outputs[0].dtype() == DType::kFloat32 && !shape.empty() && shape.back() == 7 &&
                  (shape.size() == 2 || (shape.size() == 3 && shape[0] == 1));
  if (!ok) return OutputMismatch(model, outputs[0], "float32[1, N, 7]");
  const int64_t rows = shape[shape.size() - 2];
  const float width = static_cast<float>(model.input.width), height = static_cast<float>(model.input.height);
  const float threshold = CandidateThreshold(model, filter);
  const float* data = outputs[0].data<float>();
  std::vector<Detection> candidates;
  for (int64_t i = 0; i < rows; ++i) {
    const float* r = data + i * 7;
    if (r[0] < 0) break;  // the rest of the rows is padding
    const std::optional<int> class_id = ClassIdOf(r[1]);
    if (!class_id || !(r[2] >= threshold)) continue;
    AddCandidate(candidates, *class_id, r[2], r[3] * width, r[4] * height, r[5] * width, r[6] * height);
  }
  return FinishDetections(model, std::move(candidates), transform, filter, /*nms=*/false);
}

}  // namespace

StatusOr<std::vector<Detection>> DecodeSsd(const ModelConfig& model, const TensorList& outputs,
                                           const LetterboxTransform& transform,
                                           const DetectionFilter& filter) {
  ACCEL_ASSIGN_OR_RETURN(SsdForm form, SsdFormOf(model));
  if (form == SsdForm::kDetectionOutput) return DecodeDetectionOutput(model, outputs, transform, filter);
  return DecodeTensors(model, outputs, transform, filter);
}

}  // namespace accel
