#include "cache/cache_key.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace accel {
namespace {

ModelConfig TestModel() {
  ModelConfig m;
  m.name = "m";
  m.version = "1";
  m.input.width = 416;
  m.input.height = 416;
  m.labels = {"person", "car"};
  return m;
}

TEST(CacheKey, SameInputsSameKeyAndHexIs32Digits) {
  const CacheKey model = ModelFingerprint(TestModel());
  EXPECT_EQ(model, ModelFingerprint(TestModel()));
  EXPECT_EQ(EncodedImageKey(model, "jpeg bytes"), EncodedImageKey(model, "jpeg bytes"));
  EXPECT_NE(EncodedImageKey(model, "jpeg bytes"), EncodedImageKey(model, "jpeg bytez"));
  EXPECT_EQ(model.Hex().size(), 32u);
}

TEST(CacheKey, EverythingThatChangesTheModelLevelResultChangesTheKey) {
  const ModelConfig base = TestModel();
  const CacheKey image_key = EncodedImageKey(ModelFingerprint(base), "same image");
  std::vector<ModelConfig> variants(9, base);
  variants[0].name = "other";
  variants[1].version = "2";
  variants[2].input.width = 640;
  variants[3].input.letterbox = LetterboxMode::kCenter;
  variants[4].decoder.min_confidence = 0.25f;
  variants[5].decoder.nms_iou = 0.5f;
  variants[6].labels = {"person", "truck"};
  variants[7].decoder.family = "yolov5";
  variants[8].input.pad_value = 0;
  for (size_t i = 0; i < variants.size(); ++i)
    EXPECT_NE(EncodedImageKey(ModelFingerprint(variants[i]), "same image"), image_key) << "variant " << i;
}

TEST(CacheKey, WeightsArePartOfTheModel) {
  const auto dir = std::filesystem::temp_directory_path() / ("cache_key_test_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  ModelConfig m = TestModel();
  m.artifacts.push_back({"cpu", "onnx", dir / "model.onnx"});
  std::ofstream(dir / "model.onnx") << "weights one";
  const CacheKey one = ModelFingerprint(m);
  std::ofstream(dir / "model.onnx") << "weights two";
  const CacheKey two = ModelFingerprint(m);
  EXPECT_NE(one, two);
  std::filesystem::remove_all(dir);
}

TEST(CacheKey, DecodedPixelsAndDimensionsAreTheImage) {
  const CacheKey model = ModelFingerprint(TestModel());
  Image a;
  a.width = a.original_width = 2;
  a.height = a.original_height = 3;
  a.rgb.assign(18, 7);
  Image b = a;
  b.width = b.original_width = 3;
  b.height = b.original_height = 2;  // same bytes, other shape
  Image c = a;
  c.rgb[5] = 8;
  EXPECT_EQ(DecodedImageKey(model, a), DecodedImageKey(model, a));
  EXPECT_NE(DecodedImageKey(model, a), DecodedImageKey(model, b));
  EXPECT_NE(DecodedImageKey(model, a), DecodedImageKey(model, c));
  EXPECT_NE(DecodedImageKey(model, a), EncodedImageKey(model, std::string(18, 7)));
}

TEST(CacheKey, FingerprintsAreRememberedPerConfiguration) {
  ModelFingerprints fingerprints;
  auto first = std::make_shared<const ModelConfig>(TestModel());
  EXPECT_EQ(fingerprints.Get(first), ModelFingerprint(*first));
  ModelConfig changed = TestModel();
  changed.version = "7";
  auto second = std::make_shared<const ModelConfig>(changed);
  EXPECT_EQ(fingerprints.Get(second), ModelFingerprint(changed));
  EXPECT_NE(fingerprints.Get(first), fingerprints.Get(second));
}

}  // namespace
}  // namespace accel
