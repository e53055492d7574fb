// Decoder families: the names model.yaml's decoder.family may take, and the output contract of each: how
// many output tensors the family reads, in which order (model.yaml's `outputs` order), and their shapes per
// item (without the batch dimension; -1 for a dynamic size). The model repository checks every model
// against its family here (CheckDecoderContract, called by ParseModelConfig), so a model that cannot be
// decoded is a load error naming the model instead of a 500 on every request. The decoders in src/vision
// read the same definitions (forms, layout, activation), so the check and the decoding cannot disagree.
//
// Contracts (C = classes, N = candidates or queries):
//   yolox          1 output  [N, 5 + C]    raw YOLOX head (tx, ty, tw, th, objectness, class scores);
//                                          N must equal the anchors of decoder.strides
//   yolov5         1 output  [N, 5 + C]    cx, cy, w, h (input pixels), objectness, class scores
//   yolo-generic   1 output  [4 + C, N] or [N, 4 + C]  cx, cy, w, h (input pixels), class scores
//   yolo-nas       2 outputs boxes [N, 4] (x1, y1, x2, y2 input pixels), scores [N, C]          (raw)
//                  1 output  [N, 7]: batch index, x1, y1, x2, y2, score, class (NMS done)  (flat)
//                  4 outputs count [1], boxes [N, 4], scores [N], classes [N] (NMS done)   (batch)
//   ssd            3 or 4 outputs boxes [N, 4] (y_min, x_min, y_max, x_max, 0..1), classes [N],
//                                 scores [N], optionally count [] or [1]        (TF object detection)
//                  1 output  [1, N, 7] or [N, 7]: image id, class, score, x_min, y_min, x_max, y_max
//                                 (0..1)                                        (DetectionOutput)
//   detr           2 outputs boxes [N, 4] (cx, cy, w, h, 0..1), class logits [N, C]; no NMS
//   classification 1 output  [C]           logits or probabilities
//   hailo_nms_by_class, hailo_nms_by_score   1 output, rank 1 (see vision/hailo_nms.h)
//   raw            any outputs; no decoding (tensor APIs only)
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/model_config.h"
#include "core/status.h"

namespace accel {

inline constexpr std::string_view kClassificationFamily = "classification";

// Every family, in the order of the table above.
const std::vector<std::string>& DecoderFamilyNames();
bool IsDecoderFamily(std::string_view family);

// yolo-generic: where one candidate's 4 + C values lie.
enum class ChannelLayout {
  kChannelsFirst,  // [4 + C, N]: Ultralytics' export
  kChannelsLast,   // [N, 4 + C]: the same head transposed
};
// decoder.layout when set; for "auto", from the declared shape [a, b]: next to a dynamic (-1) size the
// fixed one holds the channels; with both fixed, the smaller one does (a head has far more candidates than
// classes). Both dynamic, or equal: an error asking for decoder.layout.
StatusOr<ChannelLayout> ResolveChannelLayout(const ModelConfig& model);

enum class YoloNasForm { kRaw, kFlat, kBatch };
// By the number of declared outputs: 2 raw, 1 flat, 4 batch.
StatusOr<YoloNasForm> YoloNasFormOf(const ModelConfig& model);

enum class SsdForm { kTensors, kDetectionOutput };
// By the number of declared outputs: 3 or 4 tensors, 1 DetectionOutput.
StatusOr<SsdForm> SsdFormOf(const ModelConfig& model);

enum class Activation { kNone, kSigmoid, kSoftmax };
// decoder.activation, or the family's default when empty (detr: sigmoid; otherwise none).
StatusOr<Activation> ActivationOf(const ModelConfig& model);

// Class scores per candidate that the declared outputs imply (a DETR "no object" column not counted), or
// -1 where the family carries class ids as values (ssd, yolo-nas flat/batch, hailo_nms_by_score, raw) or
// the size is dynamic.
int DeclaredClassCount(const ModelConfig& model);

// InvalidArgument saying what does not fit when: the family is unknown; the number, rank or a fixed size of
// the declared outputs does not fit it; a decoder option is out of range; task and family disagree; or the
// labels are fewer than the classes the outputs declare (after decoder.class_id_offset).
Status CheckDecoderContract(const ModelConfig& model);

}  // namespace accel
