// Decoded images and the codecs Accel reads. Decoding uses libjpeg-turbo and libspng directly (no OpenCV
// outside the cpu engine). Pixels are always 8-bit RGB, row-major, tightly packed (HWC).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"

namespace accel {

struct Image {
  int width = 0;  // decoded pixel dimensions
  int height = 0;
  // Dimensions of the encoded original. Differ from width/height when the decoder downscaled while
  // decoding (libjpeg-turbo's 1/2, 1/4, 1/8 scaling); boxes are always reported in original pixels.
  int original_width = 0;
  int original_height = 0;
  std::vector<uint8_t> rgb;  // width * height * 3 bytes
};

// Documented limits on what a client may send (README / docs/api.md).
struct ImageLimits {
  int max_width = 8192;
  int max_height = 8192;
  int64_t max_pixels = 40'000'000;
};

enum class ImageFormat { kUnknown, kJpeg, kPng };
ImageFormat SniffImageFormat(const uint8_t* data, size_t size);

struct DecodeOptions {
  ImageLimits limits;
  // When > 0, a JPEG may be decoded at a reduced scale as long as the result stays at least this large
  // in both dimensions (cheap downscale for big camera frames feeding a small model input).
  int min_width = 0;
  int min_height = 0;
};

// Decodes JPEG or PNG (any bit depth/colour type, alpha dropped, 16-bit reduced to 8) into RGB.
// Errors: 415 for an unknown format, 400 for corrupt/truncated data, 413 for dimensions over the limits
// (checked from the header before any pixel buffer is allocated).
StatusOr<Image> DecodeImage(const uint8_t* data, size_t size, const DecodeOptions& options = {});

// Wraps raw RGB pixels (e.g. the seed API's nested array) as an Image, validating dimensions.
StatusOr<Image> ImageFromRgb(std::vector<uint8_t> rgb, int width, int height, const ImageLimits& limits = {});

// Encodes RGB as JPEG (quality 1..100). Used by `accel infer --draw` and the dashboard.
StatusOr<std::vector<uint8_t>> EncodeJpeg(const Image& image, int quality = 90);

}  // namespace accel
