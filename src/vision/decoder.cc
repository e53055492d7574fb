#include "vision/decoder.h"

#include <algorithm>
#include <string>
#include <unordered_map>

#include "core/decoder_families.h"
#include "vision/detr_decoder.h"
#include "vision/hailo_nms.h"
#include "vision/ssd_decoder.h"
#include "vision/yolo_decoders.h"
#include "vision/yolo_nas_decoder.h"

namespace accel {

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
  if (family == "yolov5") return DecodeYolov5(model, outputs, transform, filter);
  if (family == "yolo-generic") return DecodeYoloGeneric(model, outputs, transform, filter);
  if (family == "yolo-nas") return DecodeYoloNas(model, outputs, transform, filter);
  if (family == "ssd") return DecodeSsd(model, outputs, transform, filter);
  if (family == "detr") return DecodeDetr(model, outputs, transform, filter);
  if (family == "hailo_nms_by_class" || family == "hailo_nms_by_score") {
    return DecodeHailoNms(model, outputs, transform, filter);
  }
  if (family == kClassificationFamily) {
    return InvalidArgument("model '" + model.name +
                           "' is a classification model: it returns classes, not boxes (use /ai/infer)");
  }
  if (family == "raw") {
    return InvalidArgument(
        "model '" + model.name +
        "' has decoder family 'raw': it returns tensors, not detections; use the tensor API");
  }
  return Unimplemented("model '" + model.name + "': unknown decoder family '" + family + "'");
}

}  // namespace accel
