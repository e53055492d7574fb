// placeholder: being written (hailo engine work)
#include "vision/hailo_nms.h"

namespace accel {
StatusOr<std::vector<Detection>> DecodeHailoNms(const ModelConfig&, const TensorList&, const LetterboxTransform&,
                                                const DetectionFilter&) {
  return Unimplemented("hailo NMS decoding is not implemented yet");
}
}  // namespace accel
