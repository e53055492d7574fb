#include "vision/decoder_support.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "vision/decoder.h"

namespace accel {

Status CheckOutputCount(const ModelConfig& model, const TensorList& outputs, size_t count) {
  if (outputs.size() == count) return Status::Ok();
  return Internal("model '" + model.name + "' (" + model.decoder.family + ") produced " +
                  std::to_string(outputs.size()) + " output tensors; its decoder reads " +
                  std::to_string(count));
}

StatusOr<std::vector<int64_t>> ItemShape(const ModelConfig& model, const TensorList& outputs, size_t index) {
  const Tensor& t = outputs.at(index);
  const std::vector<int64_t>& shape = t.shape();
  const bool declared = index < model.outputs.size();
  const size_t rank = declared ? model.outputs[index].shape.size() : 0;
  if (!shape.empty() && shape[0] == 1 && (!declared || shape.size() == rank + 1))
    return std::vector<int64_t>(shape.begin() + 1, shape.end());
  // An engine may also hand over the item without a batch dimension: then the rank is the declared one.
  if (declared && shape.size() == rank) return shape;
  return Internal("model '" + model.name + "' output " + std::to_string(index) + " is " + t.Describe() +
                  "; the " + model.decoder.family +
                  " decoder reads one item (a leading batch dimension of 1)");
}

Status OutputMismatch(const ModelConfig& model, const Tensor& output, const std::string& expected) {
  return Internal("model '" + model.name + "' output '" + output.name() + "' is " + output.Describe() +
                  "; the " + model.decoder.family + " decoder expects " + expected + " per item");
}

float ValueAt(const Tensor& tensor, int64_t i) {
  switch (tensor.dtype()) {
    case DType::kFloat32:
      return tensor.data<float>()[i];
    case DType::kInt32:
      return static_cast<float>(tensor.data<int32_t>()[i]);
    case DType::kInt64:
      return static_cast<float>(tensor.data<int64_t>()[i]);
    case DType::kUInt8:
      return static_cast<float>(tensor.data<uint8_t>()[i]);
    case DType::kInt8:
      return static_cast<float>(tensor.data<int8_t>()[i]);
    case DType::kFloat16:
      break;
  }
  return std::numeric_limits<float>::quiet_NaN();
}

std::optional<int> ClassIdOf(float value) {
  if (!(value >= 0 && value <= 16777216.f)) return std::nullopt;
  return static_cast<int>(value);
}

float CandidateThreshold(const ModelConfig& model, const DetectionFilter& filter) {
  return std::max(filter.threshold, model.decoder.min_confidence);
}

bool AddCandidate(std::vector<Detection>& candidates, int class_id, float confidence, float x1, float y1,
                  float x2, float y2) {
  if (!std::isfinite(confidence) || !std::isfinite(x1) || !std::isfinite(y1) || !std::isfinite(x2) ||
      !std::isfinite(y2)) {
    return false;
  }
  Detection d;
  d.class_id = class_id;
  d.confidence = std::clamp(confidence, 0.f, 1.f);
  d.box = {std::min(x1, x2), std::min(y1, y2), std::max(x1, x2), std::max(y1, y2)};
  candidates.push_back(std::move(d));
  return true;
}

std::vector<Detection> FinishDetections(const ModelConfig& model, std::vector<Detection> candidates,
                                        const LetterboxTransform& transform, const DetectionFilter& filter,
                                        bool nms) {
  std::vector<Detection> kept;
  if (nms) {
    // In model coordinates: the letterbox scale is uniform (top_left, center), so IoUs are those of the
    // original image; with `stretch` they differ a little, as they do for every detector trained that way.
    kept = NonMaxSuppression(std::move(candidates), model.decoder.nms_iou, model.decoder.max_detections);
  } else {
    kept = std::move(candidates);
    std::stable_sort(kept.begin(), kept.end(),
                     [](const Detection& a, const Detection& b) { return a.confidence > b.confidence; });
    if (model.decoder.max_detections > 0 && kept.size() > static_cast<size_t>(model.decoder.max_detections))
      kept.resize(model.decoder.max_detections);
  }
  for (Detection& d : kept) {
    d.class_id += model.decoder.class_id_offset;
    d.label = model.LabelFor(d.class_id);
    d.box = transform.ToOriginal(d.box);
  }
  ApplyFilter(kept, filter);
  return kept;
}

}  // namespace accel
