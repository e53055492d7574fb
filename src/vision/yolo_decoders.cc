#include "vision/yolo_decoders.h"

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "core/decoder_families.h"
#include "vision/decoder_support.h"

namespace accel {
namespace {

// The item shape of the only output when it is float32 of rank 2 with at least `min_columns` columns and,
// where model.yaml fixes a size, that size.
StatusOr<std::vector<int64_t>> SingleMatrix(const ModelConfig& model, const TensorList& outputs,
                                            const std::string& expected) {
  ACCEL_RETURN_IF_ERROR(CheckOutputCount(model, outputs, 1));
  ACCEL_ASSIGN_OR_RETURN(std::vector<int64_t> shape, ItemShape(model, outputs, 0));
  bool ok = outputs[0].dtype() == DType::kFloat32 && shape.size() == 2;
  if (ok && !model.outputs.empty() && model.outputs[0].shape.size() == 2) {
    for (size_t d = 0; d < 2; ++d)
      ok = ok && (model.outputs[0].shape[d] < 0 || model.outputs[0].shape[d] == shape[d]);
  }
  if (!ok) return OutputMismatch(model, outputs[0], expected);
  return shape;
}

// The best of `classes` scores found at row[0], row[stride], ...; its index in `best`.
float BestClass(const float* row, int64_t classes, int64_t stride, int* best) {
  float score = -std::numeric_limits<float>::infinity();
  *best = 0;
  for (int64_t c = 0; c < classes; ++c) {
    const float v = row[c * stride];
    if (v > score) {
      score = v;
      *best = static_cast<int>(c);
    }
  }
  return score;
}

}  // namespace

// YOLOX head: [anchors, 4 + 1 + classes] per item; anchors ordered by stride, then row-major over the grid.
// Box values are raw (tx, ty, tw, th); objectness and class scores are already sigmoid-ed.
StatusOr<std::vector<Detection>> DecodeYolox(const ModelConfig& model, const TensorList& outputs,
                                             const LetterboxTransform& transform,
                                             const DetectionFilter& filter) {
  int64_t anchors = 0;
  for (int stride : model.decoder.strides) {
    if (stride <= 0) return Internal("model '" + model.name + "': invalid decoder stride");
    anchors += static_cast<int64_t>(model.input.height / stride) * (model.input.width / stride);
  }
  const std::string expected = "float32[" + std::to_string(anchors) + ", 5 + classes]";
  ACCEL_ASSIGN_OR_RETURN(std::vector<int64_t> shape, SingleMatrix(model, outputs, expected));
  if (shape[0] != anchors || shape[1] < 6) return OutputMismatch(model, outputs[0], expected);
  const int64_t per_anchor = shape[1];
  const int64_t num_classes = per_anchor - 5;
  // Since class scores are <= 1, score >= threshold implies objectness >= threshold, which lets most
  // anchors be skipped early.
  const float threshold = CandidateThreshold(model, filter);

  std::vector<Detection> candidates;
  const float* data = outputs[0].data<float>();
  int64_t index = 0;
  for (int stride : model.decoder.strides) {
    const int grid_w = model.input.width / stride, grid_h = model.input.height / stride;
    const float s = static_cast<float>(stride);
    for (int gy = 0; gy < grid_h; ++gy) {
      for (int gx = 0; gx < grid_w; ++gx, ++index) {
        const float* row = data + index * per_anchor;
        const float objectness = row[4];
        if (!(objectness >= threshold)) continue;  // also skips NaN
        int best = 0;
        const float score = objectness * BestClass(row + 5, num_classes, 1, &best);
        if (!(score >= threshold)) continue;
        const float cx = (row[0] + gx) * s, cy = (row[1] + gy) * s;
        const float w = std::exp(row[2]) * s, h = std::exp(row[3]) * s;
        AddCandidate(candidates, best, score, cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2);
      }
    }
  }
  return FinishDetections(model, std::move(candidates), transform, filter, /*nms=*/true);
}

StatusOr<std::vector<Detection>> DecodeYolov5(const ModelConfig& model, const TensorList& outputs,
                                              const LetterboxTransform& transform,
                                              const DetectionFilter& filter) {
  const std::string expected = "float32[N, 5 + classes]";
  ACCEL_ASSIGN_OR_RETURN(std::vector<int64_t> shape, SingleMatrix(model, outputs, expected));
  if (shape[1] < 6) return OutputMismatch(model, outputs[0], expected);
  const int64_t rows = shape[0], per_row = shape[1], num_classes = per_row - 5;
  const float threshold = CandidateThreshold(model, filter);
  std::vector<Detection> candidates;
  const float* data = outputs[0].data<float>();
  for (int64_t i = 0; i < rows; ++i) {
    const float* row = data + i * per_row;
    const float objectness = row[4];
    if (!(objectness >= threshold)) continue;  // class scores are <= 1, as for YOLOX
    int best = 0;
    const float score = objectness * BestClass(row + 5, num_classes, 1, &best);
    if (!(score >= threshold)) continue;
    const float cx = row[0], cy = row[1], w = row[2], h = row[3];
    AddCandidate(candidates, best, score, cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2);
  }
  return FinishDetections(model, std::move(candidates), transform, filter, /*nms=*/true);
}

StatusOr<std::vector<Detection>> DecodeYoloGeneric(const ModelConfig& model, const TensorList& outputs,
                                                   const LetterboxTransform& transform,
                                                   const DetectionFilter& filter) {
  ACCEL_ASSIGN_OR_RETURN(ChannelLayout layout, ResolveChannelLayout(model));
  const bool channels_first = layout == ChannelLayout::kChannelsFirst;
  const std::string expected = channels_first ? "float32[4 + classes, N]" : "float32[N, 4 + classes]";
  ACCEL_ASSIGN_OR_RETURN(std::vector<int64_t> shape, SingleMatrix(model, outputs, expected));
  const int64_t channels = channels_first ? shape[0] : shape[1];
  const int64_t count = channels_first ? shape[1] : shape[0];
  if (channels < 5) return OutputMismatch(model, outputs[0], expected);
  const int64_t num_classes = channels - 4;
  // Value k of candidate n: channels-first rows are channels (stride 1 between candidates, N between
  // channels); channels-last rows are candidates.
  const int64_t channel_step = channels_first ? count : 1;
  const int64_t candidate_step = channels_first ? 1 : channels;
  const float* data = outputs[0].data<float>();
  // Best class of every candidate. Channels-first is read class by class so that memory is read in order
  // (a candidate's scores lie N floats apart there).
  std::vector<float> best_score(count, -std::numeric_limits<float>::infinity());
  std::vector<int> best_class(count, 0);
  if (channels_first) {
    for (int64_t c = 0; c < num_classes; ++c) {
      const float* row = data + (4 + c) * count;
      for (int64_t n = 0; n < count; ++n) {
        if (row[n] > best_score[n]) {
          best_score[n] = row[n];
          best_class[n] = static_cast<int>(c);
        }
      }
    }
  } else {
    for (int64_t n = 0; n < count; ++n)
      best_score[n] = BestClass(data + n * channels + 4, num_classes, 1, &best_class[n]);
  }
  const float threshold = CandidateThreshold(model, filter);
  std::vector<Detection> candidates;
  for (int64_t n = 0; n < count; ++n) {
    if (!(best_score[n] >= threshold)) continue;
    const float* base = data + n * candidate_step;
    const float cx = base[0], cy = base[channel_step], w = base[2 * channel_step], h = base[3 * channel_step];
    AddCandidate(candidates, best_class[n], best_score[n], cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2);
  }
  return FinishDetections(model, std::move(candidates), transform, filter, /*nms=*/true);
}

}  // namespace accel
