// What the decoders in src/vision share: reading one item's output tensors (shape checks, values of any
// numeric dtype) and turning candidate boxes in model-input pixels into the detections a client gets.
// Every function here is pure and thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/model_config.h"
#include "core/status.h"
#include "core/tensor.h"
#include "vision/detection.h"
#include "vision/preprocess.h"

namespace accel {

// Internal error unless the engine returned exactly `count` outputs.
Status CheckOutputCount(const ModelConfig& model, const TensorList& outputs, size_t count);

// The shape of output `index` for one item: the engine's shape without its leading batch dimension of 1,
// or as it is when its rank is the declared one (an item without a batch dimension). Anything else, a
// batch of several items among it, is an Internal error naming the model and the output: the decoders
// read one item, and the engines hand them one item at a time.
StatusOr<std::vector<int64_t>> ItemShape(const ModelConfig& model, const TensorList& outputs, size_t index);

// Internal error naming the model, the output and `expected` ("[N, 5 + classes]").
Status OutputMismatch(const ModelConfig& model, const Tensor& output, const std::string& expected);

// Element `i` (row-major over the whole tensor) as float, for float32, int8, uint8, int32 and int64 (NaN
// for float16). For small tensors (class ids, counts): exporters write those as float or as integers. Hot
// loops read float32 data directly.
float ValueAt(const Tensor& tensor, int64_t i);

// A class id read as a value (ssd, yolo-nas flat/batch): the whole number below `value` when it is in
// 0..2^24 (exact in float32), otherwise nullopt (padding rows carry -1; NaN or huge values are garbage).
std::optional<int> ClassIdOf(float value);

// The lowest confidence a candidate needs: the request's threshold, never below decoder.min_confidence.
float CandidateThreshold(const ModelConfig& model, const DetectionFilter& filter);

// A candidate box (model-input pixels, corners in any order) with its class as read from the outputs.
// Returns false, and adds nothing, when a value is not finite.
bool AddCandidate(std::vector<Detection>& candidates, int class_id, float confidence, float x1, float y1,
                  float x2, float y2);

// Finishes decoding: class-aware NMS (decoder.nms_iou) when `nms`, otherwise best first; at most
// decoder.max_detections; decoder.class_id_offset and labels; boxes mapped through the letterbox to
// original-image pixels and clipped to the image; then the request's filter.
std::vector<Detection> FinishDetections(const ModelConfig& model, std::vector<Detection> candidates,
                                        const LetterboxTransform& transform, const DetectionFilter& filter,
                                        bool nms);

}  // namespace accel
