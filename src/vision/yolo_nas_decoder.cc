#include "vision/yolo_nas_decoder.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "core/decoder_families.h"
#include "vision/decoder_support.h"

namespace accel {
namespace {

StatusOr<std::vector<Detection>> DecodeRaw(const ModelConfig& model, const TensorList& outputs,
                                           const LetterboxTransform& transform,
                                           const DetectionFilter& filter) {
  ACCEL_RETURN_IF_ERROR(CheckOutputCount(model, outputs, 2));
  ACCEL_ASSIGN_OR_RETURN(std::vector<int64_t> boxes, ItemShape(model, outputs, 0));
  ACCEL_ASSIGN_OR_RETURN(std::vector<int64_t> scores, ItemShape(model, outputs, 1));
  if (outputs[0].dtype() != DType::kFloat32 || boxes.size() != 2 || boxes[1] != 4)
    return OutputMismatch(model, outputs[0], "boxes float32[N, 4]");
  if (outputs[1].dtype() != DType::kFloat32 || scores.size() != 2 || scores[0] != boxes[0] || scores[1] < 1)
    return OutputMismatch(model, outputs[1], "scores float32[" + std::to_string(boxes[0]) + ", classes]");
  const float threshold = CandidateThreshold(model, filter);
  const float* box = outputs[0].data<float>();
  const float* score = outputs[1].data<float>();
  const int64_t classes = scores[1];
  std::vector<Detection> candidates;
  for (int64_t i = 0; i < boxes[0]; ++i) {
    const float* row = score + i * classes;
    const float* best = std::max_element(row, row + classes);
    if (!(*best >= threshold)) continue;
    const float* b = box + i * 4;
    AddCandidate(candidates, static_cast<int>(best - row), *best, b[0], b[1], b[2], b[3]);
  }
  return FinishDetections(model, std::move(candidates), transform, filter, /*nms=*/true);
}

StatusOr<std::vector<Detection>> DecodeFlat(const ModelConfig& model, const TensorList& outputs,
                                            const LetterboxTransform& transform,
                                            const DetectionFilter& filter) {
  ACCEL_RETURN_IF_ERROR(CheckOutputCount(model, outputs, 1));
  ACCEL_ASSIGN_OR_RETURN(std::vector<int64_t> shape, ItemShape(model, outputs, 0));
  if (outputs[0].dtype() != DType::kFloat32 || shape.size() != 2 || shape[1] != 7)
    return OutputMismatch(model, outputs[0], "float32[N, 7]");
  const float threshold = CandidateThreshold(model, filter);
  const float* data = outputs[0].data<float>();
  std::vector<Detection> candidates;
  for (int64_t i = 0; i < shape[0]; ++i) {
    const float* r = data + i * 7;
    // r[0] is the row's image in the exported batch: always this item, as the engines run one.
    const std::optional<int> class_id = ClassIdOf(r[6]);
    if (!class_id || !(r[5] >= threshold)) continue;
    AddCandidate(candidates, *class_id, r[5], r[1], r[2], r[3], r[4]);
  }
  return FinishDetections(model, std::move(candidates), transform, filter, /*nms=*/false);
}

StatusOr<std::vector<Detection>> DecodeBatch(const ModelConfig& model, const TensorList& outputs,
                                             const LetterboxTransform& transform,
                                             const DetectionFilter& filter) {
  ACCEL_RETURN_IF_ERROR(CheckOutputCount(model, outputs, 4));
  ACCEL_ASSIGN_OR_RETURN(std::vector<int64_t> count, ItemShape(model, outputs, 0));
  ACCEL_ASSIGN_OR_RETURN(std::vector<int64_t> boxes, ItemShape(model, outputs, 1));
  ACCEL_ASSIGN_OR_RETURN(std::vector<int64_t> scores, ItemShape(model, outputs, 2));
  ACCEL_ASSIGN_OR_RETURN(std::vector<int64_t> classes, ItemShape(model, outputs, 3));
  if (outputs[0].num_elements() != 1) return OutputMismatch(model, outputs[0], "count [1]");
  if (outputs[1].dtype() != DType::kFloat32 || boxes.size() != 2 || boxes[1] != 4)
    return OutputMismatch(model, outputs[1], "boxes float32[N, 4]");
  const int64_t n = boxes[0];
  if (outputs[2].dtype() != DType::kFloat32 || scores != std::vector<int64_t>{n})
    return OutputMismatch(model, outputs[2], "scores float32[" + std::to_string(n) + "]");
  if (classes != std::vector<int64_t>{n})
    return OutputMismatch(model, outputs[3], "classes [" + std::to_string(n) + "]");
  const float declared = ValueAt(outputs[0], 0);
  const int64_t rows =
      std::isfinite(declared) ? std::clamp<int64_t>(static_cast<int64_t>(declared), 0, n) : 0;
  const float threshold = CandidateThreshold(model, filter);
  const float* box = outputs[1].data<float>();
  const float* score = outputs[2].data<float>();
  std::vector<Detection> candidates;
  for (int64_t i = 0; i < rows; ++i) {
    const std::optional<int> class_id = ClassIdOf(ValueAt(outputs[3], i));
    if (!class_id || !(score[i] >= threshold)) continue;
    const float* b = box + i * 4;
    AddCandidate(candidates, *class_id, score[i], b[0], b[1], b[2], b[3]);
  }
  return FinishDetections(model, std::move(candidates), transform, filter, /*nms=*/false);
}

}  // namespace

StatusOr<std::vector<Detection>> DecodeYoloNas(const ModelConfig& model, const TensorList& outputs,
                                               const LetterboxTransform& transform,
                                               const DetectionFilter& filter) {
  ACCEL_ASSIGN_OR_RETURN(YoloNasForm form, YoloNasFormOf(model));
  switch (form) {
    case YoloNasForm::kRaw:
      return DecodeRaw(model, outputs, transform, filter);
    case YoloNasForm::kFlat:
      return DecodeFlat(model, outputs, transform, filter);
    case YoloNasForm::kBatch:
      return DecodeBatch(model, outputs, transform, filter);
  }
  return Internal("model '" + model.name + "': unknown yolo-nas form");
}

}  // namespace accel
