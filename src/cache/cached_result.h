// CachedResult: what the result cache stores for one (model, image) pair: the model-level result, decoded
// at the model's own minimum confidence, before any request's threshold, targets or result limit, so that
// every request for that image can be answered from it with its own filter. It also keeps where the result
// was computed, which responses report next to `cached: true`.
//
// The byte form (SerializeCachedResult) is what Redis holds and other instances read: versioned, little-
// endian, and read back with every length checked, since it crosses process boundaries.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "vision/classification.h"
#include "vision/detection.h"

namespace accel {

struct CachedResult {
  std::string task = "detection";  // "detection" fills detections, "classification" classifications
  std::vector<Detection> detections;
  std::vector<Classification> classifications;
  int image_width = 0;
  int image_height = 0;
  std::string device_id;  // where the result was computed
  std::string engine_kind;
  bool simulated = false;

  // Approximate memory the value holds (the in-process cache's bound counts this).
  size_t ByteSize() const;
};

std::string SerializeCachedResult(const CachedResult& result);
// InvalidArgument for bytes that are not a complete CachedResult of this format version.
StatusOr<CachedResult> ParseCachedResult(std::string_view bytes);

// A request's filter applied to cached classifications, as DecodeClassification applies it: at or above the
// threshold, in targets (when any), best first, at most `top_k` (the model's decoder.top_k: it counts only
// classes in targets), then at most max_results. The cached list must hold every class at or above the
// model's minimum confidence, not only its top_k. (Detections use ApplyFilter from vision/detection.h.)
void ApplyClassificationFilter(std::vector<Classification>& classes, const DetectionFilter& filter,
                               int top_k);

}  // namespace accel
