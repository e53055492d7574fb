#include "vision/image.h"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "test_util.h"

namespace accel {
namespace {

using testing::EncodeJpegRaw;
using testing::EncodePng;
using testing::SharedDir;
using testing::TestImageBytes;

std::vector<uint8_t> Gradient(int width, int height) {
  std::vector<uint8_t> rgb(static_cast<size_t>(width) * height * 3);
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      uint8_t* p = &rgb[(static_cast<size_t>(y) * width + x) * 3];
      p[0] = static_cast<uint8_t>(x * 255 / std::max(1, width - 1));
      p[1] = static_cast<uint8_t>(y * 255 / std::max(1, height - 1));
      p[2] = 128;
    }
  }
  return rgb;
}

uint32_t Crc32(const uint8_t* data, size_t size) {
  uint32_t crc = 0xffffffffu;
  for (size_t i = 0; i < size; ++i) {
    crc ^= data[i];
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1u)));
  }
  return ~crc;
}

void PutBigEndian32(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 24);
  p[1] = static_cast<uint8_t>(v >> 16);
  p[2] = static_cast<uint8_t>(v >> 8);
  p[3] = static_cast<uint8_t>(v);
}

TEST(SniffImageFormat, RecognisesMagicBytes) {
  const uint8_t jpeg[] = {0xff, 0xd8, 0xff, 0xe0};
  const uint8_t png[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0};
  const uint8_t gif[] = {'G', 'I', 'F', '8', '9', 'a'};
  EXPECT_EQ(SniffImageFormat(jpeg, sizeof(jpeg)), ImageFormat::kJpeg);
  EXPECT_EQ(SniffImageFormat(png, sizeof(png)), ImageFormat::kPng);
  EXPECT_EQ(SniffImageFormat(gif, sizeof(gif)), ImageFormat::kUnknown);
  EXPECT_EQ(SniffImageFormat(png, 4), ImageFormat::kUnknown);
  EXPECT_EQ(SniffImageFormat(nullptr, 0), ImageFormat::kUnknown);
}

TEST(DecodeImage, SharedJpegsMatchReferenceDimensions) {
  std::ifstream in(SharedDir() + "/testdata/expected/yolox_nano.jsonl");
  ASSERT_TRUE(in.good());
  std::string line;
  int count = 0;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    const auto entry = nlohmann::json::parse(line);
    const std::vector<uint8_t> bytes = TestImageBytes(entry.at("image").get<std::string>());
    ASSERT_FALSE(bytes.empty());
    auto image = DecodeImage(bytes.data(), bytes.size());
    ASSERT_TRUE(image.ok()) << image.status().ToString();
    EXPECT_EQ(image->width, entry.at("width").get<int>());
    EXPECT_EQ(image->height, entry.at("height").get<int>());
    EXPECT_EQ(image->original_width, image->width);
    EXPECT_EQ(image->original_height, image->height);
    ASSERT_EQ(image->rgb.size(), static_cast<size_t>(image->width) * image->height * 3);
    // A real photograph: not a flat grey fill (what libjpeg produces for missing data).
    uint8_t lo = 255, hi = 0;
    for (uint8_t v : image->rgb) lo = std::min(lo, v), hi = std::max(hi, v);
    EXPECT_GT(hi - lo, 100);
    ++count;
  }
  EXPECT_EQ(count, 8);
}

TEST(DecodeImage, JpegRoundTripIsClose) {
  const std::vector<uint8_t> rgb = Gradient(64, 48);
  const std::vector<uint8_t> jpeg = EncodeJpegRaw(rgb, 64, 48, TJPF_RGB, TJSAMP_444, 100);
  ASSERT_FALSE(jpeg.empty());
  auto image = DecodeImage(jpeg.data(), jpeg.size());
  ASSERT_TRUE(image.ok()) << image.status().ToString();
  ASSERT_EQ(image->width, 64);
  ASSERT_EQ(image->height, 48);
  int max_diff = 0;
  for (size_t i = 0; i < rgb.size(); ++i) max_diff = std::max(max_diff, std::abs(rgb[i] - image->rgb[i]));
  EXPECT_LE(max_diff, 6);
}

TEST(DecodeImage, GrayscaleJpegBecomesRgb) {
  std::vector<uint8_t> gray(32 * 16);
  for (size_t i = 0; i < gray.size(); ++i) gray[i] = static_cast<uint8_t>(i % 32 * 8);
  const std::vector<uint8_t> jpeg = EncodeJpegRaw(gray, 32, 16, TJPF_GRAY, TJSAMP_GRAY, 100);
  ASSERT_FALSE(jpeg.empty());
  auto image = DecodeImage(jpeg.data(), jpeg.size());
  ASSERT_TRUE(image.ok()) << image.status().ToString();
  ASSERT_EQ(image->rgb.size(), 32u * 16 * 3);
  for (size_t i = 0; i < gray.size(); ++i) {
    EXPECT_EQ(image->rgb[i * 3], image->rgb[i * 3 + 1]);
    EXPECT_EQ(image->rgb[i * 3], image->rgb[i * 3 + 2]);
    EXPECT_NEAR(image->rgb[i * 3], gray[i], 4) << i;
  }
}

TEST(DecodeImage, CmykJpegBecomesRgb) {
  // Adobe-style inverted CMYK (255 = no ink): pure red is C'=255, M'=0, Y'=0, K'=255.
  std::vector<uint8_t> cmyk;
  for (int i = 0; i < 16 * 16; ++i) cmyk.insert(cmyk.end(), {255, 0, 0, 255});
  const std::vector<uint8_t> jpeg = EncodeJpegRaw(cmyk, 16, 16, TJPF_CMYK, TJSAMP_444, 100);
  ASSERT_FALSE(jpeg.empty());
  auto image = DecodeImage(jpeg.data(), jpeg.size());
  ASSERT_TRUE(image.ok()) << image.status().ToString();
  ASSERT_EQ(image->width, 16);
  EXPECT_NEAR(image->rgb[0], 255, 4);
  EXPECT_NEAR(image->rgb[1], 0, 4);
  EXPECT_NEAR(image->rgb[2], 0, 4);
}

TEST(DecodeImage, ScaledJpegDecodeKeepsMinimumSize) {
  const std::vector<uint8_t> bytes = TestImageBytes("000000001000.jpg");  // 640x480
  DecodeOptions options;
  options.min_width = 100;
  options.min_height = 100;
  auto quarter = DecodeImage(bytes.data(), bytes.size(), options);
  ASSERT_TRUE(quarter.ok()) << quarter.status().ToString();
  EXPECT_EQ(quarter->width, 160);  // 1/8 would be 80x60, under the minimum
  EXPECT_EQ(quarter->height, 120);
  EXPECT_EQ(quarter->original_width, 640);
  EXPECT_EQ(quarter->original_height, 480);
  EXPECT_EQ(quarter->rgb.size(), 160u * 120 * 3);

  options.min_width = 300;
  options.min_height = 200;
  auto half = DecodeImage(bytes.data(), bytes.size(), options);
  ASSERT_TRUE(half.ok());
  EXPECT_EQ(half->width, 320);
  EXPECT_EQ(half->height, 240);

  options.min_width = 416;
  options.min_height = 416;
  auto full = DecodeImage(bytes.data(), bytes.size(), options);
  ASSERT_TRUE(full.ok());
  EXPECT_EQ(full->width, 640);
  EXPECT_EQ(full->height, 480);

  // The scaled image looks like the full one at a coarser grid (compare block means at 1/2).
  double diff = 0;
  for (int y = 0; y < 240; ++y) {
    for (int x = 0; x < 320; ++x) {
      for (int c = 0; c < 3; ++c) {
        int sum = 0;
        for (int dy = 0; dy < 2; ++dy)
          for (int dx = 0; dx < 2; ++dx) sum += full->rgb[((y * 2 + dy) * 640 + x * 2 + dx) * 3 + c];
        diff += std::abs(sum / 4.0 - half->rgb[(y * 320 + x) * 3 + c]);
      }
    }
  }
  EXPECT_LT(diff / (320 * 240 * 3), 4.0);
}

TEST(DecodeImage, TruncatedJpegIsInvalidArgument) {
  const std::vector<uint8_t> bytes = TestImageBytes("000000000139.jpg");
  for (size_t keep : {bytes.size() / 2, bytes.size() - 100, size_t{700}, size_t{10}}) {
    auto image = DecodeImage(bytes.data(), keep);
    ASSERT_FALSE(image.ok()) << "kept " << keep << " bytes";
    EXPECT_EQ(image.status().code(), StatusCode::kInvalidArgument) << image.status().ToString();
    EXPECT_NE(image.status().message().find("JPEG"), std::string::npos);
  }
}

// Found by the pipeline test: after a truncated JPEG failed on a thread, the next valid JPEG decoded on the
// same thread came back as "invalid dimensions 0x0" (the decompressor kept state from the failure).
TEST(DecodeImage, FailedJpegDoesNotSpoilTheNextDecodeOnTheThread) {
  const std::vector<uint8_t> bytes = TestImageBytes("000000000139.jpg");
  for (size_t keep : {size_t{200}, size_t{700}, bytes.size() / 2, size_t{10}}) {
    ASSERT_FALSE(DecodeImage(bytes.data(), keep).ok()) << keep;
    auto good = DecodeImage(bytes.data(), bytes.size());
    ASSERT_TRUE(good.ok()) << "after " << keep << " bytes: " << good.status().ToString();
    EXPECT_EQ(good->width, 640);
    EXPECT_EQ(good->height, 426);
  }
}

TEST(DecodeImage, CorruptJpegIsInvalidArgument) {
  std::vector<uint8_t> bytes = TestImageBytes("000000000139.jpg");
  // Wreck the entropy-coded data and the end marker but keep the header.
  for (size_t i = bytes.size() / 3; i < bytes.size(); i += 7) bytes[i] = 0xff;
  auto image = DecodeImage(bytes.data(), bytes.size());
  ASSERT_FALSE(image.ok());
  EXPECT_EQ(image.status().code(), StatusCode::kInvalidArgument) << image.status().ToString();
}

TEST(DecodeImage, ExtraneousBytesBeforeMarkerAreTolerated) {
  // Some encoders leave stray bytes between markers; libjpeg warns ("extraneous bytes before marker") but
  // the image data is complete, so it must decode exactly as the clean file.
  const std::vector<uint8_t> clean = TestImageBytes("000000000724.jpg");
  size_t sos = 0;
  for (size_t i = 2; i + 1 < clean.size(); ++i) {
    if (clean[i] == 0xff && clean[i + 1] == 0xda) {
      sos = i;
      break;
    }
  }
  ASSERT_NE(sos, 0u);
  std::vector<uint8_t> padded = clean;
  padded.insert(padded.begin() + static_cast<std::ptrdiff_t>(sos), {0x00, 0x00, 0x00});
  auto a = DecodeImage(clean.data(), clean.size());
  auto b = DecodeImage(padded.data(), padded.size());
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_EQ(a->rgb, b->rgb);
}

TEST(DecodeImage, GarbageIsUnsupportedMediaType) {
  const std::string text = "GIF89a this is not an image we read";
  auto image = DecodeImage(reinterpret_cast<const uint8_t*>(text.data()), text.size());
  ASSERT_FALSE(image.ok());
  EXPECT_EQ(image.status().code(), StatusCode::kUnsupportedMediaType);
  auto empty = DecodeImage(nullptr, 0);
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.status().code(), StatusCode::kInvalidArgument);
}

TEST(DecodeImage, OversizedJpegHeaderIsPayloadTooLarge) {
  std::vector<uint8_t> jpeg = EncodeJpegRaw(Gradient(16, 16), 16, 16, TJPF_RGB, TJSAMP_420);
  ASSERT_FALSE(jpeg.empty());
  // Patch the baseline SOF0 frame header (FF C0, length, precision, height, width) to 20000x10000.
  size_t sof = 0;
  for (size_t i = 2; i + 9 < jpeg.size(); ++i) {
    if (jpeg[i] == 0xff && jpeg[i + 1] == 0xc0) {
      sof = i;
      break;
    }
  }
  ASSERT_NE(sof, 0u);
  jpeg[sof + 5] = 10000 >> 8;
  jpeg[sof + 6] = 10000 & 0xff;
  jpeg[sof + 7] = 20000 >> 8;
  jpeg[sof + 8] = 20000 & 0xff;
  auto image = DecodeImage(jpeg.data(), jpeg.size());
  ASSERT_FALSE(image.ok());
  EXPECT_EQ(image.status().code(), StatusCode::kPayloadTooLarge) << image.status().ToString();
}

TEST(DecodeImage, LimitsApplyToRealImages) {
  const std::vector<uint8_t> bytes = TestImageBytes("000000001000.jpg");  // 640x480
  DecodeOptions options;
  options.limits.max_width = 600;
  auto too_wide = DecodeImage(bytes.data(), bytes.size(), options);
  ASSERT_FALSE(too_wide.ok());
  EXPECT_EQ(too_wide.status().code(), StatusCode::kPayloadTooLarge);
  options.limits = {};
  options.limits.max_pixels = 640 * 480 - 1;
  auto too_many = DecodeImage(bytes.data(), bytes.size(), options);
  ASSERT_FALSE(too_many.ok());
  EXPECT_EQ(too_many.status().code(), StatusCode::kPayloadTooLarge);
  options.limits.max_pixels = 640 * 480;
  EXPECT_TRUE(DecodeImage(bytes.data(), bytes.size(), options).ok());
}

TEST(DecodeImage, PngRgb8) {
  const std::vector<uint8_t> rgb = Gradient(37, 23);
  const std::vector<uint8_t> png = EncodePng(rgb, 37, 23, SPNG_COLOR_TYPE_TRUECOLOR, 8);
  ASSERT_FALSE(png.empty());
  auto image = DecodeImage(png.data(), png.size());
  ASSERT_TRUE(image.ok()) << image.status().ToString();
  EXPECT_EQ(image->width, 37);
  EXPECT_EQ(image->height, 23);
  EXPECT_EQ(image->original_width, 37);
  EXPECT_EQ(image->rgb, rgb);
}

TEST(DecodeImage, PngOtherColourTypesAndDepths) {
  const uint32_t w = 5, h = 3;
  {  // 8-bit grayscale
    std::vector<uint8_t> gray(w * h);
    for (size_t i = 0; i < gray.size(); ++i) gray[i] = static_cast<uint8_t>(i * 17);
    const auto png = EncodePng(gray, w, h, SPNG_COLOR_TYPE_GRAYSCALE, 8);
    auto image = DecodeImage(png.data(), png.size());
    ASSERT_TRUE(image.ok()) << image.status().ToString();
    for (size_t i = 0; i < gray.size(); ++i) {
      EXPECT_EQ(image->rgb[i * 3], gray[i]);
      EXPECT_EQ(image->rgb[i * 3 + 2], gray[i]);
    }
  }
  {  // RGBA: alpha dropped, colour kept as stored (not composited)
    std::vector<uint8_t> rgba;
    for (uint32_t i = 0; i < w * h; ++i) rgba.insert(rgba.end(), {10, 20, static_cast<uint8_t>(i), 0});
    const auto png = EncodePng(rgba, w, h, SPNG_COLOR_TYPE_TRUECOLOR_ALPHA, 8);
    auto image = DecodeImage(png.data(), png.size());
    ASSERT_TRUE(image.ok()) << image.status().ToString();
    ASSERT_EQ(image->rgb.size(), w * h * 3);
    EXPECT_EQ(image->rgb[3 * 7 + 0], 10);
    EXPECT_EQ(image->rgb[3 * 7 + 1], 20);
    EXPECT_EQ(image->rgb[3 * 7 + 2], 7);
  }
  {  // gray + alpha
    std::vector<uint8_t> ga;
    for (uint32_t i = 0; i < w * h; ++i) ga.insert(ga.end(), {static_cast<uint8_t>(200 + i), 77});
    const auto png = EncodePng(ga, w, h, SPNG_COLOR_TYPE_GRAYSCALE_ALPHA, 8);
    auto image = DecodeImage(png.data(), png.size());
    ASSERT_TRUE(image.ok()) << image.status().ToString();
    EXPECT_EQ(image->rgb[3 * 4 + 1], 204);
  }
  {  // 16-bit RGB (host-endian for SPNG_FMT_PNG): reduced to the high byte
    std::vector<uint16_t> rgb16(w * h * 3);
    for (size_t i = 0; i < rgb16.size(); ++i) rgb16[i] = static_cast<uint16_t>((i * 5) * 257);
    std::vector<uint8_t> raw(reinterpret_cast<uint8_t*>(rgb16.data()),
                             reinterpret_cast<uint8_t*>(rgb16.data()) + rgb16.size() * 2);
    const auto png = EncodePng(raw, w, h, SPNG_COLOR_TYPE_TRUECOLOR, 16);
    ASSERT_FALSE(png.empty());
    auto image = DecodeImage(png.data(), png.size());
    ASSERT_TRUE(image.ok()) << image.status().ToString();
    for (size_t i = 0; i < rgb16.size(); ++i) EXPECT_EQ(image->rgb[i], i * 5) << i;
  }
  {  // 4-bit palette
    std::vector<spng_plte_entry> palette = {{255, 0, 0, 255}, {0, 255, 0, 255}, {0, 0, 255, 255}};
    // Rows of 5 pixels at 4 bits: 3 bytes per row, high nibble first.
    const std::vector<uint8_t> packed = {0x01, 0x20, 0x10, 0x12, 0x01, 0x20, 0x20, 0x10, 0x00};
    const auto png = EncodePng(packed, w, h, SPNG_COLOR_TYPE_INDEXED, 4, palette);
    ASSERT_FALSE(png.empty());
    auto image = DecodeImage(png.data(), png.size());
    ASSERT_TRUE(image.ok()) << image.status().ToString();
    const uint8_t* p1 = &image->rgb[3 * 1];  // index 1: green
    EXPECT_EQ(p1[0], 0);
    EXPECT_EQ(p1[1], 255);
    const uint8_t* p2 = &image->rgb[3 * 2];  // index 2: blue
    EXPECT_EQ(p2[2], 255);
    EXPECT_EQ(p2[0], 0);
  }
}

TEST(DecodeImage, TruncatedPngIsInvalidArgument) {
  const std::vector<uint8_t> png = EncodePng(Gradient(64, 64), 64, 64, SPNG_COLOR_TYPE_TRUECOLOR, 8);
  ASSERT_GT(png.size(), 100u);
  for (size_t keep : {png.size() / 2, png.size() - 13, size_t{20}}) {
    auto image = DecodeImage(png.data(), keep);
    ASSERT_FALSE(image.ok()) << "kept " << keep;
    EXPECT_EQ(image.status().code(), StatusCode::kInvalidArgument) << image.status().ToString();
    EXPECT_NE(image.status().message().find("PNG"), std::string::npos);
  }
}

TEST(DecodeImage, OversizedPngHeaderIsPayloadTooLarge) {
  std::vector<uint8_t> png = EncodePng(Gradient(4, 4), 4, 4, SPNG_COLOR_TYPE_TRUECOLOR, 8);
  ASSERT_GT(png.size(), 33u);
  // IHDR data starts at byte 16 (8 signature + 4 length + 4 type); its CRC covers type + data (bytes 12..28).
  PutBigEndian32(&png[16], 9000);
  PutBigEndian32(&png[20], 9000);
  PutBigEndian32(&png[29], Crc32(&png[12], 17));
  auto image = DecodeImage(png.data(), png.size());
  ASSERT_FALSE(image.ok());
  EXPECT_EQ(image.status().code(), StatusCode::kPayloadTooLarge) << image.status().ToString();

  // Within width/height limits but over the pixel budget.
  PutBigEndian32(&png[16], 8000);
  PutBigEndian32(&png[20], 8000);
  PutBigEndian32(&png[29], Crc32(&png[12], 17));
  image = DecodeImage(png.data(), png.size());
  ASSERT_FALSE(image.ok());
  EXPECT_EQ(image.status().code(), StatusCode::kPayloadTooLarge) << image.status().ToString();
}

TEST(DecodeImage, ConcurrentDecodesAgree) {
  const std::vector<uint8_t> jpeg = TestImageBytes("000000000632.jpg");
  auto reference = DecodeImage(jpeg.data(), jpeg.size());
  ASSERT_TRUE(reference.ok());
  std::vector<int> mismatches(4, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 5; ++i) {
        auto image = DecodeImage(jpeg.data(), jpeg.size());
        if (!image.ok() || image->rgb != reference->rgb) ++mismatches[t];
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int m : mismatches) EXPECT_EQ(m, 0);
}

TEST(ImageFromRgb, ValidatesSizeAndLimits) {
  auto ok = ImageFromRgb(std::vector<uint8_t>(6 * 4 * 3, 7), 6, 4);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->width, 6);
  EXPECT_EQ(ok->original_height, 4);
  auto short_buffer = ImageFromRgb(std::vector<uint8_t>(6 * 4 * 3 - 1), 6, 4);
  EXPECT_EQ(short_buffer.status().code(), StatusCode::kInvalidArgument);
  auto zero = ImageFromRgb({}, 0, 4);
  EXPECT_EQ(zero.status().code(), StatusCode::kInvalidArgument);
  ImageLimits limits;
  limits.max_width = 5;
  auto big = ImageFromRgb(std::vector<uint8_t>(6 * 4 * 3), 6, 4, limits);
  EXPECT_EQ(big.status().code(), StatusCode::kPayloadTooLarge);
}

TEST(EncodeJpeg, RoundTrips) {
  auto image = ImageFromRgb(Gradient(40, 30), 40, 30);
  ASSERT_TRUE(image.ok());
  auto jpeg = EncodeJpeg(*image, 95);
  ASSERT_TRUE(jpeg.ok()) << jpeg.status().ToString();
  EXPECT_EQ(SniffImageFormat(jpeg->data(), jpeg->size()), ImageFormat::kJpeg);
  auto back = DecodeImage(jpeg->data(), jpeg->size());
  ASSERT_TRUE(back.ok());
  ASSERT_EQ(back->width, 40);
  double diff = 0;
  for (size_t i = 0; i < back->rgb.size(); ++i) diff += std::abs(back->rgb[i] - image->rgb[i]);
  EXPECT_LT(diff / back->rgb.size(), 3.0);
  EXPECT_FALSE(EncodeJpeg(*image, 0).ok());
  Image broken = *image;
  broken.rgb.pop_back();
  EXPECT_FALSE(EncodeJpeg(broken).ok());
}

}  // namespace
}  // namespace accel
