// Helpers shared by the vision unit tests: test-data paths and tiny image encoders (hermetic inputs).
#pragma once

#include <spng.h>
#include <turbojpeg.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace accel::testing {

inline std::string SharedDir() {
  if (const char* env = std::getenv("ACCEL_SHARED_DIR"); env != nullptr && *env) return env;
  return ACCEL_SHARED_DIR;
}

inline std::vector<uint8_t> ReadFileBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<uint8_t>((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

inline std::vector<uint8_t> TestImageBytes(const std::string& name) {
  return ReadFileBytes(SharedDir() + "/testdata/images/" + name);
}

// Encodes with libspng. `pixels` is in the PNG's own layout (SPNG_FMT_PNG: 16-bit samples host-endian).
inline std::vector<uint8_t> EncodePng(const std::vector<uint8_t>& pixels, uint32_t width, uint32_t height,
                                      uint8_t color_type, uint8_t bit_depth,
                                      const std::vector<spng_plte_entry>& palette = {}) {
  spng_ctx* ctx = spng_ctx_new(SPNG_CTX_ENCODER);
  spng_set_option(ctx, SPNG_ENCODE_TO_BUFFER, 1);
  spng_ihdr ihdr{};
  ihdr.width = width;
  ihdr.height = height;
  ihdr.color_type = color_type;
  ihdr.bit_depth = bit_depth;
  spng_set_ihdr(ctx, &ihdr);
  if (!palette.empty()) {
    spng_plte plte{};
    plte.n_entries = static_cast<uint32_t>(palette.size());
    for (size_t i = 0; i < palette.size(); ++i) plte.entries[i] = palette[i];
    spng_set_plte(ctx, &plte);
  }
  std::vector<uint8_t> out;
  if (spng_encode_image(ctx, pixels.data(), pixels.size(), SPNG_FMT_PNG, SPNG_ENCODE_FINALIZE) == 0) {
    size_t size = 0;
    int error = 0;
    void* buffer = spng_get_png_buffer(ctx, &size, &error);
    if (buffer != nullptr) {
      out.assign(static_cast<uint8_t*>(buffer), static_cast<uint8_t*>(buffer) + size);
      std::free(buffer);
    }
  }
  spng_ctx_free(ctx);
  return out;
}

// Encodes packed pixels of `pixel_format` (TJPF_RGB, TJPF_GRAY, TJPF_CMYK) with TurboJPEG.
inline std::vector<uint8_t> EncodeJpegRaw(const std::vector<uint8_t>& pixels, int width, int height,
                                          int pixel_format, int subsamp, int quality = 95) {
  tjhandle tj = tjInitCompress();
  unsigned char* buffer = nullptr;
  unsigned long size = 0;
  std::vector<uint8_t> out;
  if (tjCompress2(tj, pixels.data(), width, 0, height, pixel_format, &buffer, &size, subsamp, quality, 0) ==
      0) {
    out.assign(buffer, buffer + size);
  }
  tjFree(buffer);
  tjDestroy(tj);
  return out;
}

}  // namespace accel::testing
