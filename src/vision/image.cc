#include "vision/image.h"

#include <spng.h>
#include <turbojpeg.h>

#include <cstring>
#include <memory>
#include <string>

#include "core/logging.h"

namespace accel {
namespace {

// TurboJPEG handles are not thread-safe but are expensive to create (~tens of microseconds plus
// allocations), so each thread keeps one decompressor and one compressor for its lifetime.
class TjHandle {
 public:
  explicit TjHandle(bool compress) : compress_(compress), handle_(Make()) {}
  ~TjHandle() {
    if (handle_ != nullptr) tjDestroy(handle_);
  }
  // libjpeg-turbo's handle keeps state after a failed decompression: on the same handle the next header read
  // of a valid JPEG can report a stale warning and 0x0 dimensions. So a handle that failed is replaced before
  // it serves another request (one client's corrupt JPEG must not fail the next client's good one).
  void Reset() {
    if (handle_ != nullptr) tjDestroy(handle_);
    handle_ = Make();
  }
  TjHandle(const TjHandle&) = delete;
  TjHandle& operator=(const TjHandle&) = delete;
  tjhandle get() const { return handle_; }

 private:
  tjhandle Make() const { return compress_ ? tjInitCompress() : tjInitDecompress(); }
  const bool compress_;
  tjhandle handle_;
};

TjHandle& ThreadDecompressor() {
  thread_local TjHandle handle(/*compress=*/false);
  return handle;
}

tjhandle ThreadCompressor() {
  thread_local TjHandle handle(/*compress=*/true);
  return handle.get();
}

Status CheckLimits(int64_t width, int64_t height, const ImageLimits& limits, const char* what) {
  if (width <= 0 || height <= 0) {
    return InvalidArgument(std::string(what) + " has invalid dimensions " + std::to_string(width) + "x" +
                           std::to_string(height));
  }
  if (width > limits.max_width || height > limits.max_height || width * height > limits.max_pixels) {
    return PayloadTooLarge(std::string(what) + " is " + std::to_string(width) + "x" + std::to_string(height) +
                           "; the limit is " + std::to_string(limits.max_width) + "x" +
                           std::to_string(limits.max_height) + " and " + std::to_string(limits.max_pixels) +
                           " pixels");
  }
  return Status::Ok();
}

// libjpeg warnings that do not indicate missing or damaged image data. Everything else (notably
// "Premature end of JPEG file" for truncated input, where libjpeg pads the image with grey) is an error.
bool IsBenignJpegWarning(const char* message) {
  return message != nullptr && std::strstr(message, "extraneous bytes before marker") != nullptr;
}

StatusOr<Image> DecodeJpegWith(tjhandle tj, const uint8_t* data, size_t size, const DecodeOptions& options) {
  if (tj == nullptr)
    return Internal(std::string("cannot create a JPEG decompressor: ") + tjGetErrorStr2(nullptr));

  int width = 0, height = 0, subsamp = 0, colorspace = 0;
  if (tjDecompressHeader3(tj, data, static_cast<unsigned long>(size), &width, &height, &subsamp,
                          &colorspace) != 0 &&
      !(tjGetErrorCode(tj) == TJERR_WARNING && IsBenignJpegWarning(tjGetErrorStr2(tj)))) {
    return InvalidArgument(std::string("corrupt JPEG header: ") + tjGetErrorStr2(tj));
  }
  ACCEL_RETURN_IF_ERROR(CheckLimits(width, height, options.limits, "JPEG image"));

  // Largest reduction (1/8, then 1/4, then 1/2) that keeps both dimensions at least the requested minimum.
  tjscalingfactor chosen{1, 1};
  if (options.min_width > 0 || options.min_height > 0) {
    for (int denom : {8, 4, 2}) {
      const tjscalingfactor sf{1, denom};
      if (TJSCALED(width, sf) >= options.min_width && TJSCALED(height, sf) >= options.min_height) {
        chosen = sf;
        break;
      }
    }
  }

  Image image;
  image.original_width = width;
  image.original_height = height;
  image.width = TJSCALED(width, chosen);
  image.height = TJSCALED(height, chosen);
  const size_t pixels = static_cast<size_t>(image.width) * image.height;
  const int flags = TJFLAG_LIMITSCANS;

  if (colorspace == TJCS_CMYK || colorspace == TJCS_YCCK) {
    // libjpeg cannot convert CMYK to RGB, so decode to CMYK and convert here. CMYK JPEGs in the wild are
    // written by Adobe software with inverted values (255 = no ink), so R = C' * K' / 255.
    std::vector<uint8_t> cmyk(pixels * 4);
    if (tjDecompress2(tj, data, static_cast<unsigned long>(size), cmyk.data(), image.width, 0, image.height,
                      TJPF_CMYK, flags) != 0 &&
        !(tjGetErrorCode(tj) == TJERR_WARNING && IsBenignJpegWarning(tjGetErrorStr2(tj)))) {
      return InvalidArgument(std::string("corrupt or truncated JPEG: ") + tjGetErrorStr2(tj));
    }
    image.rgb.resize(pixels * 3);
    for (size_t i = 0; i < pixels; ++i) {
      const int k = cmyk[i * 4 + 3];
      for (int c = 0; c < 3; ++c)
        image.rgb[i * 3 + c] = static_cast<uint8_t>((cmyk[i * 4 + c] * k + 127) / 255);
    }
    return image;
  }

  image.rgb.resize(pixels * 3);
  if (tjDecompress2(tj, data, static_cast<unsigned long>(size), image.rgb.data(), image.width, 0,
                    image.height, TJPF_RGB, flags) != 0) {
    const char* message = tjGetErrorStr2(tj);
    if (tjGetErrorCode(tj) == TJERR_WARNING && IsBenignJpegWarning(message)) {
      ACCEL_LOG(kDebug, "vision") << "JPEG decoded with a warning: " << message;
    } else {
      return InvalidArgument(std::string("corrupt or truncated JPEG: ") + message);
    }
  }
  return image;
}

StatusOr<Image> DecodeJpeg(const uint8_t* data, size_t size, const DecodeOptions& options) {
  TjHandle& handle = ThreadDecompressor();
  auto image = DecodeJpegWith(handle.get(), data, size, options);
  if (!image.ok()) handle.Reset();
  return image;
}

struct SpngCtxDeleter {
  void operator()(spng_ctx* ctx) const { spng_ctx_free(ctx); }
};
using SpngCtx = std::unique_ptr<spng_ctx, SpngCtxDeleter>;

StatusOr<Image> DecodePng(const uint8_t* data, size_t size, const DecodeOptions& options) {
  SpngCtx ctx(spng_ctx_new(0));
  if (!ctx) return Internal("cannot create a PNG decoder");
  // Bound what a hostile file can make libspng allocate: the image itself (also checked below, for a
  // 413 rather than a 400) and ancillary chunks (text, ICC profiles...), which we never use.
  spng_set_image_limits(ctx.get(), static_cast<uint32_t>(options.limits.max_width),
                        static_cast<uint32_t>(options.limits.max_height));
  spng_set_chunk_limits(ctx.get(), 16u << 20, 16u << 20);
  if (int rc = spng_set_png_buffer(ctx.get(), data, size); rc != 0) {
    return InvalidArgument(std::string("corrupt PNG: ") + spng_strerror(rc));
  }
  spng_ihdr ihdr{};
  if (int rc = spng_get_ihdr(ctx.get(), &ihdr); rc != 0) {
    if (rc == SPNG_EUSER_WIDTH || rc == SPNG_EUSER_HEIGHT) {
      return PayloadTooLarge("PNG image is larger than the limit of " +
                             std::to_string(options.limits.max_width) + "x" +
                             std::to_string(options.limits.max_height));
    }
    return InvalidArgument(std::string("corrupt PNG header: ") + spng_strerror(rc));
  }
  ACCEL_RETURN_IF_ERROR(CheckLimits(ihdr.width, ihdr.height, options.limits, "PNG image"));

  size_t out_size = 0;
  if (int rc = spng_decoded_image_size(ctx.get(), SPNG_FMT_RGB8, &out_size); rc != 0) {
    return InvalidArgument(std::string("unsupported PNG: ") + spng_strerror(rc));
  }
  Image image;
  image.width = image.original_width = static_cast<int>(ihdr.width);
  image.height = image.original_height = static_cast<int>(ihdr.height);
  if (out_size != static_cast<size_t>(image.width) * image.height * 3) {
    return Internal("unexpected decoded PNG size " + std::to_string(out_size));
  }
  image.rgb.resize(out_size);
  // No SPNG_DECODE_TRNS: alpha is dropped. 16-bit samples are reduced to 8 bits by libspng.
  if (int rc = spng_decode_image(ctx.get(), image.rgb.data(), out_size, SPNG_FMT_RGB8, 0); rc != 0) {
    return InvalidArgument(std::string("corrupt or truncated PNG: ") + spng_strerror(rc));
  }
  // Read through to IEND so that a file cut after its pixel data is still reported as truncated.
  if (int rc = spng_decode_chunks(ctx.get()); rc != 0) {
    return InvalidArgument(std::string("corrupt or truncated PNG: ") + spng_strerror(rc));
  }
  return image;
}

}  // namespace

ImageFormat SniffImageFormat(const uint8_t* data, size_t size) {
  static constexpr uint8_t kPngMagic[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  if (data == nullptr) return ImageFormat::kUnknown;
  if (size >= 3 && data[0] == 0xff && data[1] == 0xd8 && data[2] == 0xff) return ImageFormat::kJpeg;
  if (size >= 8 && std::memcmp(data, kPngMagic, 8) == 0) return ImageFormat::kPng;
  return ImageFormat::kUnknown;
}

StatusOr<Image> DecodeImage(const uint8_t* data, size_t size, const DecodeOptions& options) {
  switch (SniffImageFormat(data, size)) {
    case ImageFormat::kJpeg:
      return DecodeJpeg(data, size, options);
    case ImageFormat::kPng:
      return DecodePng(data, size, options);
    case ImageFormat::kUnknown:
      break;
  }
  if (size == 0) return InvalidArgument("empty image");
  return UnsupportedMediaType("unsupported image format (expected JPEG or PNG)");
}

StatusOr<Image> ImageFromRgb(std::vector<uint8_t> rgb, int width, int height, const ImageLimits& limits) {
  ACCEL_RETURN_IF_ERROR(CheckLimits(width, height, limits, "image"));
  const size_t expected = static_cast<size_t>(width) * height * 3;
  if (rgb.size() != expected) {
    return InvalidArgument("RGB data has " + std::to_string(rgb.size()) + " bytes; " + std::to_string(width) +
                           "x" + std::to_string(height) + "x3 needs " + std::to_string(expected));
  }
  Image image;
  image.width = image.original_width = width;
  image.height = image.original_height = height;
  image.rgb = std::move(rgb);
  return image;
}

StatusOr<std::vector<uint8_t>> EncodeJpeg(const Image& image, int quality) {
  if (quality < 1 || quality > 100) return InvalidArgument("JPEG quality must be 1..100");
  if (image.width <= 0 || image.height <= 0 ||
      image.rgb.size() != static_cast<size_t>(image.width) * image.height * 3) {
    return InvalidArgument("cannot encode an image whose pixel buffer does not match its dimensions");
  }
  tjhandle tj = ThreadCompressor();
  if (tj == nullptr)
    return Internal(std::string("cannot create a JPEG compressor: ") + tjGetErrorStr2(nullptr));
  unsigned char* out = nullptr;
  unsigned long out_size = 0;
  if (tjCompress2(tj, image.rgb.data(), image.width, 0, image.height, TJPF_RGB, &out, &out_size, TJSAMP_420,
                  quality, 0) != 0) {
    std::string message = tjGetErrorStr2(tj);
    tjFree(out);
    return Internal("JPEG encoding failed: " + message);
  }
  std::vector<uint8_t> jpeg(out, out + out_size);
  tjFree(out);
  return jpeg;
}

}  // namespace accel
