#include "vision/detection.h"

#include <algorithm>
#include <cctype>

namespace accel {
namespace {

bool EqualsIgnoreCase(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

}  // namespace

float IoU(const Box& a, const Box& b) {
  const float iw = std::min(a.x_max, b.x_max) - std::max(a.x_min, b.x_min);
  const float ih = std::min(a.y_max, b.y_max) - std::max(a.y_min, b.y_min);
  if (iw <= 0 || ih <= 0) return 0.f;
  const float inter = iw * ih;
  const float area_a = std::max(0.f, a.x_max - a.x_min) * std::max(0.f, a.y_max - a.y_min);
  const float area_b = std::max(0.f, b.x_max - b.x_min) * std::max(0.f, b.y_max - b.y_min);
  const float uni = area_a + area_b - inter;
  return uni > 0 ? inter / uni : 0.f;
}

void ApplyFilter(std::vector<Detection>& detections, const DetectionFilter& filter) {
  std::erase_if(detections, [&](const Detection& d) {
    if (d.confidence < filter.threshold) return true;
    if (filter.targets.empty()) return false;
    return std::none_of(filter.targets.begin(), filter.targets.end(),
                        [&](const std::string& t) { return EqualsIgnoreCase(t, d.label); });
  });
  std::stable_sort(detections.begin(), detections.end(),
                   [](const Detection& a, const Detection& b) { return a.confidence > b.confidence; });
  if (filter.max_results >= 0 && detections.size() > static_cast<size_t>(filter.max_results)) {
    detections.resize(filter.max_results);
  }
}

}  // namespace accel
