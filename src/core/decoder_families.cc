#include "core/decoder_families.h"

#include <algorithm>

namespace accel {
namespace {

std::string OutputText(const ModelConfig& model, size_t i) {
  const OutputSpec& o = model.outputs[i];
  return "output " + std::to_string(i) + " '" + o.name + "' " + ShapeToString(o.shape);
}

// Each check returns InvalidArgument in one wording: "decoder 'F' reads <contract>; <what was found>".
class ContractCheck {
 public:
  ContractCheck(const ModelConfig& model, std::string contract)
      : model_(model), contract_(std::move(contract)) {}

  Status Fail(const std::string& found) const {
    return InvalidArgument("decoder '" + model_.decoder.family + "' reads " + contract_ + "; " + found);
  }
  Status Count(std::initializer_list<size_t> allowed) const {
    if (std::find(allowed.begin(), allowed.end(), model_.outputs.size()) != allowed.end())
      return Status::Ok();
    return Fail("model.yaml declares " + std::to_string(model_.outputs.size()) + " output(s)");
  }
  Status Rank(size_t i, std::initializer_list<size_t> ranks) const {
    const size_t rank = model_.outputs[i].shape.size();
    if (std::find(ranks.begin(), ranks.end(), rank) != ranks.end()) return Status::Ok();
    return Fail(OutputText(model_, i) + " has rank " + std::to_string(rank));
  }
  // Dimension `d` of output `i`, when declared fixed, must be `value`.
  Status Dim(size_t i, size_t d, int64_t value) const {
    const int64_t declared = model_.outputs[i].shape.at(d);
    if (declared < 0 || declared == value) return Status::Ok();
    return Fail(OutputText(model_, i) + " has " + std::to_string(declared) + " where " +
                std::to_string(value) + " is expected");
  }
  // Dimension `d` of output `i`, when declared fixed, must be at least `value`.
  Status MinDim(size_t i, size_t d, int64_t value) const {
    const int64_t declared = model_.outputs[i].shape.at(d);
    if (declared < 0 || declared >= value) return Status::Ok();
    return Fail(OutputText(model_, i) + " has " + std::to_string(declared) + " where at least " +
                std::to_string(value) + " is expected");
  }
  // Outputs `i` and `j` hold the same candidates: their first dimensions agree when both are fixed.
  Status SameCandidates(size_t i, size_t j) const {
    const int64_t a = model_.outputs[i].shape.at(0), b = model_.outputs[j].shape.at(0);
    if (a < 0 || b < 0 || a == b) return Status::Ok();
    return Fail(OutputText(model_, i) + " and " + OutputText(model_, j) + " disagree on the number of boxes");
  }

 private:
  const ModelConfig& model_;
  std::string contract_;
};

int64_t YoloxAnchors(const ModelConfig& model) {
  int64_t anchors = 0;
  for (int stride : model.decoder.strides)
    anchors += static_cast<int64_t>(model.input.height / stride) * (model.input.width / stride);
  return anchors;
}

Status CheckOutputs(const ModelConfig& model) {
  const std::string& family = model.decoder.family;
  if (family == "raw") return Status::Ok();
  if (family == "yolox" || family == "yolov5") {
    ContractCheck c(model, "one output [N, 5 + classes]");
    ACCEL_RETURN_IF_ERROR(c.Count({1}));
    ACCEL_RETURN_IF_ERROR(c.Rank(0, {2}));
    ACCEL_RETURN_IF_ERROR(c.MinDim(0, 1, 6));
    if (family == "yolox") {
      if (model.decoder.strides.empty() ||
          std::any_of(model.decoder.strides.begin(), model.decoder.strides.end(),
                      [](int s) { return s <= 0; }))
        return c.Fail("decoder.strides must be positive");
      ACCEL_RETURN_IF_ERROR(c.Dim(0, 0, YoloxAnchors(model)));
    }
    return Status::Ok();
  }
  if (family == "yolo-generic") {
    ContractCheck c(model, "one output [4 + classes, N] or [N, 4 + classes]");
    ACCEL_RETURN_IF_ERROR(c.Count({1}));
    ACCEL_RETURN_IF_ERROR(c.Rank(0, {2}));
    auto layout = ResolveChannelLayout(model);
    if (!layout.ok()) return c.Fail(layout.status().message());
    return c.MinDim(0, *layout == ChannelLayout::kChannelsFirst ? 0 : 1, 5);
  }
  if (family == "yolo-nas") {
    ContractCheck c(model,
                    "boxes [N, 4] and scores [N, classes] (2 outputs), or [N, 7] (1 output, NMS done), or "
                    "count [1], boxes [N, 4], scores [N], classes [N] (4 outputs, NMS done)");
    ACCEL_RETURN_IF_ERROR(c.Count({1, 2, 4}));
    switch (*YoloNasFormOf(model)) {
      case YoloNasForm::kRaw:
        ACCEL_RETURN_IF_ERROR(c.Rank(0, {2}));
        ACCEL_RETURN_IF_ERROR(c.Dim(0, 1, 4));
        ACCEL_RETURN_IF_ERROR(c.Rank(1, {2}));
        return c.SameCandidates(0, 1);
      case YoloNasForm::kFlat:
        ACCEL_RETURN_IF_ERROR(c.Rank(0, {2}));
        return c.Dim(0, 1, 7);
      case YoloNasForm::kBatch:
        ACCEL_RETURN_IF_ERROR(c.Rank(0, {0, 1}));
        if (!model.outputs[0].shape.empty()) ACCEL_RETURN_IF_ERROR(c.Dim(0, 0, 1));
        ACCEL_RETURN_IF_ERROR(c.Rank(1, {2}));
        ACCEL_RETURN_IF_ERROR(c.Dim(1, 1, 4));
        ACCEL_RETURN_IF_ERROR(c.Rank(2, {1}));
        ACCEL_RETURN_IF_ERROR(c.Rank(3, {1}));
        ACCEL_RETURN_IF_ERROR(c.SameCandidates(1, 2));
        return c.SameCandidates(1, 3);
    }
  }
  if (family == "ssd") {
    ContractCheck c(model,
                    "boxes [N, 4], classes [N], scores [N] and optionally count [1] (3 or 4 outputs), or a "
                    "DetectionOutput [1, N, 7] (1 output)");
    ACCEL_RETURN_IF_ERROR(c.Count({1, 3, 4}));
    if (*SsdFormOf(model) == SsdForm::kDetectionOutput) {
      ACCEL_RETURN_IF_ERROR(c.Rank(0, {2, 3}));
      if (model.outputs[0].shape.size() == 3) ACCEL_RETURN_IF_ERROR(c.Dim(0, 0, 1));
      return c.Dim(0, model.outputs[0].shape.size() - 1, 7);
    }
    ACCEL_RETURN_IF_ERROR(c.Rank(0, {2}));
    ACCEL_RETURN_IF_ERROR(c.Dim(0, 1, 4));
    ACCEL_RETURN_IF_ERROR(c.Rank(1, {1}));
    ACCEL_RETURN_IF_ERROR(c.Rank(2, {1}));
    ACCEL_RETURN_IF_ERROR(c.SameCandidates(0, 1));
    ACCEL_RETURN_IF_ERROR(c.SameCandidates(0, 2));
    if (model.outputs.size() == 4) {
      ACCEL_RETURN_IF_ERROR(c.Rank(3, {0, 1}));
      if (!model.outputs[3].shape.empty()) ACCEL_RETURN_IF_ERROR(c.Dim(3, 0, 1));
    }
    return Status::Ok();
  }
  if (family == "detr") {
    ContractCheck c(model, "boxes [N, 4] and class logits [N, classes] (2 outputs)");
    ACCEL_RETURN_IF_ERROR(c.Count({2}));
    ACCEL_RETURN_IF_ERROR(c.Rank(0, {2}));
    ACCEL_RETURN_IF_ERROR(c.Dim(0, 1, 4));
    ACCEL_RETURN_IF_ERROR(c.Rank(1, {2}));
    ACCEL_RETURN_IF_ERROR(c.MinDim(1, 1, model.decoder.no_object_class ? 2 : 1));
    return c.SameCandidates(0, 1);
  }
  if (family == kClassificationFamily) {
    ContractCheck c(model, "one output [classes]");
    ACCEL_RETURN_IF_ERROR(c.Count({1}));
    ACCEL_RETURN_IF_ERROR(c.Rank(0, {1}));
    return c.MinDim(0, 0, 1);
  }
  if (family == "hailo_nms_by_class" || family == "hailo_nms_by_score") {
    ContractCheck c(model, "one output, HailoRT's NMS frame (rank 1)");
    ACCEL_RETURN_IF_ERROR(c.Count({1}));
    return c.Rank(0, {1});
  }
  return InvalidArgument("unknown decoder family '" + family +
                         "' (known: yolox, yolov5, yolo-generic, yolo-nas, ssd, detr, classification, "
                         "hailo_nms_by_class, hailo_nms_by_score, raw)");
}

Status CheckOptions(const ModelConfig& model) {
  const DecoderSpec& d = model.decoder;
  if (!(d.min_confidence >= 0 && d.min_confidence <= 1))
    return InvalidArgument("decoder.min_confidence must be in 0..1");
  if (!(d.nms_iou > 0 && d.nms_iou <= 1)) return InvalidArgument("decoder.nms_iou must be in (0, 1]");
  if (d.layout != "auto" && d.layout != "channels_first" && d.layout != "channels_last")
    return InvalidArgument("decoder.layout must be auto, channels_first or channels_last, not '" + d.layout +
                           "'");
  ACCEL_RETURN_IF_ERROR(ActivationOf(model).status());
  if (d.top_k < 1) return InvalidArgument("decoder.top_k must be at least 1");
  if (d.family == "raw") return Status::Ok();
  const std::string wanted = d.family == kClassificationFamily ? "classification" : "detection";
  if (model.task != wanted)
    return InvalidArgument("task '" + model.task + "' does not fit decoder '" + d.family + "' (its task is " +
                           wanted + ")");
  return Status::Ok();
}

}  // namespace

const std::vector<std::string>& DecoderFamilyNames() {
  static const std::vector<std::string> kNames = {
      "yolox", "yolov5",         "yolo-generic",       "yolo-nas",           "ssd",
      "detr",  "classification", "hailo_nms_by_class", "hailo_nms_by_score", "raw"};
  return kNames;
}

bool IsDecoderFamily(std::string_view family) {
  const auto& names = DecoderFamilyNames();
  return std::find(names.begin(), names.end(), family) != names.end();
}

StatusOr<ChannelLayout> ResolveChannelLayout(const ModelConfig& model) {
  if (model.decoder.layout == "channels_first") return ChannelLayout::kChannelsFirst;
  if (model.decoder.layout == "channels_last") return ChannelLayout::kChannelsLast;
  if (model.outputs.empty() || model.outputs[0].shape.size() != 2)
    return InvalidArgument("decoder.layout 'auto' needs a declared output of rank 2");
  const int64_t a = model.outputs[0].shape[0], b = model.outputs[0].shape[1];
  if (a >= 0 && b < 0) return ChannelLayout::kChannelsFirst;
  if (a < 0 && b >= 0) return ChannelLayout::kChannelsLast;
  if (a >= 0 && b >= 0 && a != b) return a < b ? ChannelLayout::kChannelsFirst : ChannelLayout::kChannelsLast;
  return InvalidArgument(
      "the layout of " + ShapeToString(model.outputs[0].shape) +
      " cannot be told from its shape; set decoder.layout to channels_first ([4 + classes, "
      "N]) or channels_last ([N, 4 + classes])");
}

StatusOr<YoloNasForm> YoloNasFormOf(const ModelConfig& model) {
  switch (model.outputs.size()) {
    case 1:
      return YoloNasForm::kFlat;
    case 2:
      return YoloNasForm::kRaw;
    case 4:
      return YoloNasForm::kBatch;
    default:
      return InvalidArgument("yolo-nas models have 1, 2 or 4 outputs");
  }
}

StatusOr<SsdForm> SsdFormOf(const ModelConfig& model) {
  switch (model.outputs.size()) {
    case 1:
      return SsdForm::kDetectionOutput;
    case 3:
    case 4:
      return SsdForm::kTensors;
    default:
      return InvalidArgument("ssd models have 1, 3 or 4 outputs");
  }
}

StatusOr<Activation> ActivationOf(const ModelConfig& model) {
  const std::string& a = model.decoder.activation;
  if (a.empty()) return model.decoder.family == "detr" ? Activation::kSigmoid : Activation::kNone;
  if (a == "none") return Activation::kNone;
  if (a == "sigmoid") return Activation::kSigmoid;
  if (a == "softmax") return Activation::kSoftmax;
  return InvalidArgument("decoder.activation must be sigmoid, softmax or none, not '" + a + "'");
}

int DeclaredClassCount(const ModelConfig& model) {
  const std::string& family = model.decoder.family;
  const auto dim = [&](size_t output, size_t d) -> int64_t {
    if (output >= model.outputs.size() || d >= model.outputs[output].shape.size()) return -1;
    return model.outputs[output].shape[d];
  };
  int64_t classes = -1;
  if (family == "yolox" || family == "yolov5") {
    classes = dim(0, 1) < 0 ? -1 : dim(0, 1) - 5;
  } else if (family == "yolo-generic") {
    auto layout = ResolveChannelLayout(model);
    if (layout.ok()) {
      const int64_t channels = dim(0, *layout == ChannelLayout::kChannelsFirst ? 0 : 1);
      classes = channels < 0 ? -1 : channels - 4;
    }
  } else if (family == "yolo-nas") {
    if (model.outputs.size() == 2) classes = dim(1, 1);
  } else if (family == "detr") {
    classes = dim(1, 1) < 0 ? -1 : dim(1, 1) - (model.decoder.no_object_class ? 1 : 0);
  } else if (family == kClassificationFamily) {
    classes = dim(0, 0);
  } else if (family == "hailo_nms_by_class") {
    // The frame holds, per class, one count and max_boxes_per_class boxes of 5 floats.
    const int64_t per_class = 1 + 5 * static_cast<int64_t>(model.decoder.max_boxes_per_class);
    if (dim(0, 0) > 0 && per_class > 0 && dim(0, 0) % per_class == 0) classes = dim(0, 0) / per_class;
  }
  return classes < 0 ? -1 : static_cast<int>(classes);
}

Status CheckDecoderContract(const ModelConfig& model) {
  ACCEL_RETURN_IF_ERROR(CheckOutputs(model));
  ACCEL_RETURN_IF_ERROR(CheckOptions(model));
  const int classes = DeclaredClassCount(model);
  if (classes < 0) return Status::Ok();
  // Ids reported are 0..classes-1 shifted by the offset; each needs a label.
  const int64_t needed = static_cast<int64_t>(classes) + model.decoder.class_id_offset;
  if (static_cast<int64_t>(model.labels.size()) < needed) {
    return InvalidArgument("its outputs declare " + std::to_string(classes) + " classes" +
                           (model.decoder.class_id_offset != 0
                                ? " (class_id_offset " + std::to_string(model.decoder.class_id_offset) + ")"
                                : std::string()) +
                           " but labels has only " + std::to_string(model.labels.size()) +
                           " entries (labels: coco80, coco91, a list, or a file in the model's folder)");
  }
  return Status::Ok();
}

}  // namespace accel
