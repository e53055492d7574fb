// JPEG and PNG decoding (vision/image.h) and the letterbox that follows it (vision/preprocess.h), as the
// detection pipeline runs them on a file a client uploaded: decoded for the model's input size (a JPEG at
// least twice that size is decoded downscaled), then letterboxed into the model's input tensor. The model
// inputs are small, so that the fuzzer spends its time in the decoders rather than in filling a 416x416
// tensor, and cover every layout, colour order, dtype and letterbox mode. The input is the file.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "fuzz_input.h"
#include "vision/image.h"
#include "vision/preprocess.h"

namespace {

using accel::ColorOrder;
using accel::DType;
using accel::InputSpec;
using accel::LetterboxMode;
using accel::TensorLayout;

InputSpec Input(int width, int height, TensorLayout layout, ColorOrder color, DType dtype,
                LetterboxMode letterbox, float mean = 0, float scale = 1) {
  InputSpec spec;
  spec.width = width;
  spec.height = height;
  spec.layout = layout;
  spec.color = color;
  spec.dtype = dtype;
  spec.letterbox = letterbox;
  spec.mean = mean;
  spec.scale = scale;
  return spec;
}

// The first as yolox-nano's (models/yolox-nano/model.yaml) at a tenth of its size.
const std::vector<InputSpec>& Inputs() {
  static const std::vector<InputSpec> inputs = {
      Input(41, 41, TensorLayout::kNCHW, ColorOrder::kBGR, DType::kFloat32, LetterboxMode::kTopLeft),
      Input(24, 40, TensorLayout::kNHWC, ColorOrder::kRGB, DType::kUInt8, LetterboxMode::kCenter),
      Input(17, 9, TensorLayout::kNCHW, ColorOrder::kRGB, DType::kFloat32, LetterboxMode::kStretch, 127.5f,
            1 / 127.5f),
  };
  return inputs;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace accel;
  for (const InputSpec& input : Inputs()) {
    DecodeOptions options;
    options.min_width = input.width;
    options.min_height = input.height;
    auto image = DecodeImage(data, size, options);
    if (!image.ok()) return 0;
    ACCEL_FUZZ_CHECK(image->width > 0 && image->height > 0);
    ACCEL_FUZZ_CHECK(image->rgb.size() == static_cast<size_t>(image->width) * image->height * 3);
    ACCEL_FUZZ_CHECK(image->original_width >= image->width && image->original_height >= image->height);
    LetterboxTransform transform;
    ACCEL_FUZZ_CHECK(PrepareInput(*image, input, &transform).ok());
  }
  return 0;
}
