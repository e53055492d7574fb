#include "vision/decoder.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <unordered_map>

#include "vision/hailo_nms.h"

namespace accel {
namespace {

// True when `actual` is `declared` (one item, no batch dimension) or [1, ...declared]. -1 in `declared`
// matches any size.
bool ShapeMatches(const std::vector<int64_t>& actual, const std::vector<int64_t>& declared) {
  size_t skip = 0;
  if (actual.size() == declared.size() + 1) {
    if (actual[0] != 1) return false;
    skip = 1;
  } else if (actual.size() != declared.size()) {
    return false;
  }
  for (size_t i = 0; i < declared.size(); ++i) {
    if (declared[i] >= 0 && actual[i + skip] != declared[i]) return false;
  }
  return true;
}

// YOLOX head: [anchors, 4 + 1 + classes] per item; anchors ordered by stride, then row-major over the grid.
// Box values are raw (tx, ty, tw, th); objectness and class scores are already sigmoid-ed.
StatusOr<std::vector<Detection>> DecodeYolox(const ModelConfig& model, const TensorList& outputs,
                                             const LetterboxTransform& transform,
                                             const DetectionFilter& filter) {
  if (outputs.size() != 1) {
    return Internal("model '" + model.name + "' (yolox) produced " + std::to_string(outputs.size()) +
                    " output tensors; expected 1");
  }
  const Tensor& out = outputs[0];
  const int in_w = model.input.width, in_h = model.input.height;
  int64_t anchors = 0;
  for (int stride : model.decoder.strides) {
    if (stride <= 0) return Internal("model '" + model.name + "': invalid decoder stride");
    anchors += static_cast<int64_t>(in_h / stride) * (in_w / stride);
  }
  const std::vector<int64_t>& shape = out.shape();
  const int64_t per_anchor = shape.empty() ? 0 : shape.back();
  const std::vector<int64_t> expected_item = {anchors, per_anchor};
  const bool declared_ok = model.outputs.empty() || ShapeMatches(shape, model.outputs[0].shape);
  if (out.dtype() != DType::kFloat32 || per_anchor < 6 || !ShapeMatches(shape, expected_item) ||
      !declared_ok) {
    std::string declared =
        model.outputs.empty() ? ShapeToString(expected_item) : ShapeToString(model.outputs[0].shape);
    return Internal("model '" + model.name + "' output is " + out.Describe() +
                    "; the yolox decoder expects " + "float32[1," + std::to_string(anchors) +
                    ",5+classes] (declared " + declared + ")");
  }
  if (out.byte_size() < static_cast<size_t>(anchors * per_anchor) * sizeof(float)) {
    return Internal("model '" + model.name + "' output buffer is smaller than its shape");
  }
  const int num_classes = static_cast<int>(per_anchor - 5);
  // A request may ask for a higher threshold than the model's floor, never a lower one. Since class scores
  // are <= 1, score >= threshold implies objectness >= threshold, which lets most anchors be skipped early.
  const float threshold = std::max(filter.threshold, model.decoder.min_confidence);

  std::vector<Detection> candidates;
  const float* data = out.data<float>();
  int64_t index = 0;
  for (int stride : model.decoder.strides) {
    const int grid_w = in_w / stride, grid_h = in_h / stride;
    const float s = static_cast<float>(stride);
    for (int gy = 0; gy < grid_h; ++gy) {
      for (int gx = 0; gx < grid_w; ++gx, ++index) {
        const float* row = data + index * per_anchor;
        const float objectness = row[4];
        if (!(objectness >= threshold)) continue;  // also skips NaN
        const float* cls = row + 5;
        int best = 0;
        for (int c = 1; c < num_classes; ++c) {
          if (cls[c] > cls[best]) best = c;
        }
        const float score = objectness * cls[best];
        if (!(score >= threshold)) continue;
        const float cx = (row[0] + gx) * s, cy = (row[1] + gy) * s;
        const float w = std::exp(row[2]) * s, h = std::exp(row[3]) * s;
        Detection d;
        d.class_id = best;
        d.confidence = score;
        d.box = {cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2};
        candidates.push_back(std::move(d));
      }
    }
  }

  // NMS in model coordinates (the letterbox scale is uniform for top_left/center, so IoUs are the same as in
  // original pixels), then map back and clip.
  std::vector<Detection> kept =
      NonMaxSuppression(std::move(candidates), model.decoder.nms_iou, model.decoder.max_detections);
  for (Detection& d : kept) {
    d.box = transform.ToOriginal(d.box);
    d.label = model.LabelFor(d.class_id);
  }
  ApplyFilter(kept, filter);
  return kept;
}

}  // namespace

std::vector<Detection> NonMaxSuppression(std::vector<Detection> candidates, float iou_threshold,
                                         int max_detections) {
  std::stable_sort(candidates.begin(), candidates.end(),
                   [](const Detection& a, const Detection& b) { return a.confidence > b.confidence; });
  std::vector<Detection> kept;
  std::unordered_map<int, std::vector<Box>> kept_by_class;
  for (Detection& d : candidates) {
    if (max_detections > 0 && kept.size() >= static_cast<size_t>(max_detections)) break;
    std::vector<Box>& same_class = kept_by_class[d.class_id];
    const bool suppressed = std::any_of(same_class.begin(), same_class.end(),
                                        [&](const Box& k) { return IoU(k, d.box) > iou_threshold; });
    if (suppressed) continue;
    same_class.push_back(d.box);
    kept.push_back(std::move(d));
  }
  return kept;
}

StatusOr<std::vector<Detection>> DecodeDetections(const ModelConfig& model, const TensorList& outputs,
                                                  const LetterboxTransform& transform,
                                                  const DetectionFilter& filter) {
  const std::string& family = model.decoder.family;
  if (family == "yolox") return DecodeYolox(model, outputs, transform, filter);
  if (family == "hailo_nms_by_class" || family == "hailo_nms_by_score") {
    return DecodeHailoNms(model, outputs, transform, filter);
  }
  if (family == "raw") {
    return InvalidArgument(
        "model '" + model.name +
        "' has decoder family 'raw': it returns tensors, not detections; use the tensor API");
  }
  return Unimplemented("model '" + model.name + "': unknown decoder family '" + family + "'");
}

}  // namespace accel
