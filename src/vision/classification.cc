#include "vision/classification.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/decoder_families.h"
#include "core/strings.h"
#include "vision/decoder_support.h"

namespace accel {

StatusOr<std::vector<Classification>> DecodeClassification(const ModelConfig& model,
                                                           const TensorList& outputs,
                                                           const DetectionFilter& filter) {
  ACCEL_ASSIGN_OR_RETURN(Activation activation, ActivationOf(model));
  ACCEL_RETURN_IF_ERROR(CheckOutputCount(model, outputs, 1));
  ACCEL_ASSIGN_OR_RETURN(std::vector<int64_t> shape, ItemShape(model, outputs, 0));
  if (outputs[0].dtype() != DType::kFloat32 || shape.size() != 1 || shape[0] < 1)
    return OutputMismatch(model, outputs[0], "float32[classes]");
  const int64_t classes = shape[0];
  const float* values = outputs[0].data<float>();
  std::vector<float> confidence(values, values + classes);
  if (activation == Activation::kSigmoid) {
    for (float& v : confidence) v = 1.f / (1.f + std::exp(-v));
  } else if (activation == Activation::kSoftmax) {
    const float top = *std::max_element(confidence.begin(), confidence.end());
    float sum = 0;
    for (float& v : confidence) sum += (v = std::exp(v - top));
    for (float& v : confidence) v /= sum;
  }
  std::vector<int> order(classes);
  std::iota(order.begin(), order.end(), 0);
  // NaN sorts last: it never passes the threshold below.
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
    return confidence[a] > confidence[b] || (!std::isnan(confidence[a]) && std::isnan(confidence[b]));
  });
  const float threshold = CandidateThreshold(model, filter);
  std::vector<Classification> results;
  for (int c : order) {
    if (static_cast<int>(results.size()) >= model.decoder.top_k) break;
    if (!(confidence[c] >= threshold)) break;  // sorted: the rest are lower
    Classification r;
    r.class_id = c + model.decoder.class_id_offset;
    r.label = model.LabelFor(r.class_id);
    r.confidence = std::clamp(confidence[c], 0.f, 1.f);
    if (!filter.targets.empty() &&
        std::none_of(filter.targets.begin(), filter.targets.end(),
                     [&](const std::string& t) { return ToLower(t) == ToLower(r.label); }))
      continue;
    results.push_back(std::move(r));
  }
  if (filter.max_results >= 0 && results.size() > static_cast<size_t>(filter.max_results))
    results.resize(filter.max_results);
  return results;
}

}  // namespace accel
