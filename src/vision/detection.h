// Detections: the result of a detection model, in original-image pixel coordinates.
#pragma once

#include <string>
#include <vector>

namespace accel {

struct Box {
  float x_min = 0, y_min = 0, x_max = 0, y_max = 0;
};

struct Detection {
  int class_id = 0;
  std::string label;
  float confidence = 0;  // 0..1
  Box box;               // original-image pixels, clipped to the image
};

float IoU(const Box& a, const Box& b);

// Minimum confidence when a request names none, on every front end. 0.4 is where Frigate stops reading
// (it ignores everything after the first prediction under 0.4), and DeepStack's own default.
inline constexpr float kDefaultThreshold = 0.4f;

// What a request asks to keep.
struct DetectionFilter {
  float threshold = kDefaultThreshold;  // keep confidence >= threshold
  std::vector<std::string> targets;     // labels to keep; empty = all
  int max_results = 100;                // negative = no limit
};

// Drops detections under the threshold or not in targets (labels compared case-insensitively), sorts
// by confidence (descending, stable) and keeps the first max_results.
void ApplyFilter(std::vector<Detection>& detections, const DetectionFilter& filter);

}  // namespace accel
