#include "engines/hailo/hailo_model_check.h"

#include "vision/hailo_nms.h"

namespace accel {
namespace {

std::string Dims(uint32_t h, uint32_t w, uint32_t c) {
  return std::to_string(h) + "x" + std::to_string(w) + "x" + std::to_string(c);
}

}  // namespace

StatusOr<HailoModelPlan> PlanHailoModel(const ModelConfig& model) {
  const Artifact* artifact = model.ArtifactFor("hailo");
  if (artifact == nullptr)
    return FailedPrecondition("model '" + model.name + "' has no 'hailo' artifact in model.yaml");
  if (artifact->format != "hef") {
    return FailedPrecondition("model '" + model.name + "': the hailo artifact must have format 'hef', not '" +
                              artifact->format + "'");
  }
  HailoModelPlan plan;
  plan.hef_path = artifact->path.string();
  if (model.decoder.family == "hailo_nms_by_class") {
    plan.nms_order = HailoNmsOrder::kByClass;
    plan.output_format_order = kHailoFormatOrderNmsByClass;
  } else if (model.decoder.family == "hailo_nms_by_score") {
    plan.nms_order = HailoNmsOrder::kByScore;
    plan.output_format_order = kHailoFormatOrderNmsByScore;
  } else {
    return FailedPrecondition("model '" + model.name +
                              "': the hailo engine runs HEFs with HailoRT's NMS; "
                              "decoder.family must be hailo_nms_by_class or hailo_nms_by_score, not '" +
                              model.decoder.family + "'");
  }
  if (model.input.dtype == DType::kUInt8) {
    if (model.input.scale != 1.0f || model.input.mean != 0.0f) {
      return FailedPrecondition(
          "model '" + model.name +
          "': a uint8 Hailo input takes raw pixels; "
          "normalisation is compiled into the HEF, so input.scale must be 1 and mean 0");
    }
    plan.input_format_type = kHailoFormatTypeUint8;
  } else if (model.input.dtype == DType::kFloat32) {
    plan.input_format_type = kHailoFormatTypeFloat32;  // HailoRT quantises on the host
  } else {
    return FailedPrecondition("model '" + model.name + "': hailo inputs must be uint8 or float32");
  }
  plan.input_format_order =
      model.input.layout == TensorLayout::kNHWC ? kHailoFormatOrderNhwc : kHailoFormatOrderNchw;
  if (model.decoder.max_boxes_per_class <= 0 || model.decoder.max_boxes_per_class > 65535)
    return FailedPrecondition("model '" + model.name + "': decoder.max_boxes_per_class must be in 1..65535");
  if (model.decoder.min_confidence < 0 || model.decoder.min_confidence > 1 || model.decoder.nms_iou <= 0 ||
      model.decoder.nms_iou > 1) {
    return FailedPrecondition("model '" + model.name +
                              "': decoder.min_confidence must be in 0..1 and nms_iou in (0, 1]");
  }
  plan.nms_score_threshold = model.decoder.min_confidence;
  plan.nms_iou_threshold = model.decoder.nms_iou;
  plan.max_boxes_per_class = model.decoder.max_boxes_per_class;
  plan.max_boxes_total = model.decoder.max_detections > 0 ? model.decoder.max_detections : 100;
  return plan;
}

Status CheckHefInputs(const ModelConfig& model, const std::vector<HefStreamDesc>& inputs) {
  if (inputs.size() != 1) {
    return FailedPrecondition("model '" + model.name + "': the HEF has " + std::to_string(inputs.size()) +
                              " inputs; the hailo engine feeds exactly one image input");
  }
  const HefStreamDesc& in = inputs[0];
  const auto want_h = static_cast<uint32_t>(model.input.height);
  const auto want_w = static_cast<uint32_t>(model.input.width);
  const auto want_c = static_cast<uint32_t>(model.input.channels);
  if (in.height != want_h || in.width != want_w || in.features != want_c) {
    return FailedPrecondition("model '" + model.name + "': the HEF input '" + in.name + "' is " +
                              Dims(in.height, in.width, in.features) + " (HxWxC) but model.yaml says " +
                              Dims(want_h, want_w, want_c) +
                              "; set input.width/height/channels to the HEF's");
  }
  const int64_t item_elements = ShapeElementCount(model.InputItemShape());
  const size_t item_bytes = static_cast<size_t>(item_elements) * DTypeSize(model.input.dtype);
  if (in.frame_size != item_bytes) {
    return FailedPrecondition("model '" + model.name + "': the HEF input frame is " +
                              std::to_string(in.frame_size) + " bytes but one " +
                              std::string(DTypeName(model.input.dtype)) + " item of model.yaml's input is " +
                              std::to_string(item_bytes) + " bytes");
  }
  return Status::Ok();
}

StatusOr<std::string> CheckHefOutputs(const ModelConfig& model, const HailoModelPlan& plan,
                                      const std::vector<HefStreamDesc>& outputs) {
  if (outputs.size() != 1) {
    return FailedPrecondition(
        "model '" + model.name + "': the HEF has " + std::to_string(outputs.size()) +
        " outputs; the hailo engine needs one output with HailoRT NMS (compile the "
        "model with its NMS post-process, as the Hailo Model Zoo's detection HEFs are)");
  }
  const HefStreamDesc& out = outputs[0];
  if (!out.is_nms) {
    return FailedPrecondition("model '" + model.name + "': the HEF output '" + out.name +
                              "' is not an NMS output; only HEFs with HailoRT NMS are supported");
  }
  size_t expected = 0;
  if (plan.nms_order == HailoNmsOrder::kByClass) {
    if (out.nms_max_boxes_per_class != static_cast<uint32_t>(plan.max_boxes_per_class)) {
      return FailedPrecondition("model '" + model.name + "': the HEF reports " +
                                std::to_string(out.nms_max_boxes_per_class) +
                                " boxes per class; set decoder.max_boxes_per_class to that");
    }
    expected = HailoNmsByClassBytes(static_cast<int>(out.nms_classes), plan.max_boxes_per_class);
  } else {
    expected = HailoNmsByScoreBytes(static_cast<int>(out.nms_max_boxes_total));
  }
  if (out.frame_size != expected) {
    return FailedPrecondition("model '" + model.name + "': the HEF output frame is " +
                              std::to_string(out.frame_size) + " bytes but the " +
                              (plan.nms_order == HailoNmsOrder::kByClass ? "NMS_BY_CLASS" : "NMS_BY_SCORE") +
                              " layout for its NMS shape is " + std::to_string(expected) + " bytes");
  }
  std::string warning;
  const int64_t classes = static_cast<int64_t>(out.nms_classes) + model.decoder.class_id_offset;
  if (!model.labels.empty() && classes != static_cast<int64_t>(model.labels.size())) {
    warning = "model '" + model.name + "': the HEF has " + std::to_string(out.nms_classes) +
              " classes but model.yaml lists " + std::to_string(model.labels.size()) +
              " labels (class_id_offset " + std::to_string(model.decoder.class_id_offset) +
              "); unmatched ids are reported as class_<id>";
  }
  return warning;
}

DType HailoOutputDType(HailoNmsOrder order) {
  return order == HailoNmsOrder::kByClass ? DType::kFloat32 : DType::kUInt8;
}

std::vector<int64_t> HailoOutputShape(HailoNmsOrder order, size_t frame_size) {
  if (order == HailoNmsOrder::kByClass) return {1, static_cast<int64_t>(frame_size / sizeof(float))};
  return {1, static_cast<int64_t>(frame_size)};
}

}  // namespace accel
