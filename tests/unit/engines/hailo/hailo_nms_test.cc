// HailoRT host-side NMS layouts, built byte by byte as hailort.h (HailoRT 4.23) documents them, parsed and
// decoded without the SDK.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <vector>

#include "vision/hailo_nms.h"

namespace accel {
namespace {

struct NormBox {
  float y_min, x_min, y_max, x_max, score;
};

// HAILO_NMS_BY_CLASS: per class a float32 count then that many 5-float boxes, classes packed back to back,
// the frame sized for classes * (1 + 5 * max_boxes) floats with an unused tail.
std::vector<uint8_t> ByClassFrame(int classes, int max_boxes,
                                  const std::map<int, std::vector<NormBox>>& boxes) {
  std::vector<float> floats(static_cast<size_t>(classes) * (1 + 5 * max_boxes), 0.0f);
  size_t at = 0;
  for (int c = 0; c < classes; ++c) {
    auto it = boxes.find(c);
    const size_t count = it == boxes.end() ? 0 : it->second.size();
    floats.at(at++) = static_cast<float>(count);
    for (size_t i = 0; i < count; ++i) {
      const NormBox& b = it->second[i];
      for (float v : {b.y_min, b.x_min, b.y_max, b.x_max, b.score}) floats.at(at++) = v;
    }
  }
  std::vector<uint8_t> bytes(floats.size() * sizeof(float));
  std::memcpy(bytes.data(), floats.data(), bytes.size());
  return bytes;
}

// HAILO_NMS_BY_SCORE: uint16 count then packed 22-byte records (5 floats, uint16 class id).
std::vector<uint8_t> ByScoreFrame(int max_total, const std::vector<std::pair<NormBox, uint16_t>>& dets) {
  std::vector<uint8_t> bytes(2 + 22 * static_cast<size_t>(max_total), 0xAB);  // garbage in the unused tail
  const uint16_t count = static_cast<uint16_t>(dets.size());
  std::memcpy(bytes.data(), &count, 2);
  for (size_t i = 0; i < dets.size(); ++i) {
    uint8_t* p = bytes.data() + 2 + 22 * i;
    const NormBox& b = dets[i].first;
    const float f[5] = {b.y_min, b.x_min, b.y_max, b.x_max, b.score};
    std::memcpy(p, f, 20);
    std::memcpy(p + 20, &dets[i].second, 2);
  }
  return bytes;
}

Tensor ToTensor(const std::vector<uint8_t>& bytes, DType dtype) {
  const int64_t n = static_cast<int64_t>(bytes.size() / DTypeSize(dtype));
  Tensor t(dtype, {1, n}, "nms");
  std::memcpy(t.bytes(), bytes.data(), bytes.size());
  return t;
}

ModelConfig HailoModel(const std::string& family, int width = 640, int height = 640) {
  ModelConfig m;
  m.name = "hailo-test";
  m.input.width = width;
  m.input.height = height;
  m.input.layout = TensorLayout::kNHWC;
  m.input.dtype = DType::kUInt8;
  m.input.letterbox = LetterboxMode::kCenter;
  m.decoder.family = family;
  m.decoder.max_boxes_per_class = 4;
  m.decoder.min_confidence = 0.2f;
  m.labels = CocoLabels();
  return m;
}

DetectionFilter KeepAll() {
  DetectionFilter f;
  f.threshold = 0;
  f.max_results = -1;
  return f;
}

TEST(HailoNmsLayout, FrameSizesFollowTheDocumentedFormulas) {
  EXPECT_EQ(HailoNmsByClassBytes(80, 100), 80u * (1 + 5 * 100) * 4);
  EXPECT_EQ(HailoNmsByClassBytes(1, 0), 4u);
  EXPECT_EQ(HailoNmsByClassBytes(0, 10), 0u);
  EXPECT_EQ(HailoNmsByScoreBytes(100), 2u + 22u * 100);
  EXPECT_EQ(HailoNmsByScoreBytes(0), 2u);
}

TEST(HailoNmsByClass, ClassesArePackedBackToBack) {
  // Class 2 starts right after class 1's count, not at a fixed slot; a parser with fixed slots would read
  // zeros for it.
  const auto frame = ByClassFrame(3, 4,
                                  {{0, {{0.1f, 0.2f, 0.3f, 0.4f, 0.9f}}},
                                   {2, {{0.5f, 0.5f, 0.6f, 0.7f, 0.8f}, {0.0f, 0.0f, 1.0f, 1.0f, 0.3f}}}});
  auto boxes = ParseHailoNmsByClass(frame.data(), frame.size(), 4);
  ASSERT_TRUE(boxes.ok()) << boxes.status().ToString();
  ASSERT_EQ(boxes->size(), 3u);
  EXPECT_EQ((*boxes)[0].class_id, 0);
  EXPECT_FLOAT_EQ((*boxes)[0].y_min, 0.1f);
  EXPECT_FLOAT_EQ((*boxes)[0].x_min, 0.2f);
  EXPECT_FLOAT_EQ((*boxes)[0].y_max, 0.3f);
  EXPECT_FLOAT_EQ((*boxes)[0].x_max, 0.4f);
  EXPECT_FLOAT_EQ((*boxes)[0].score, 0.9f);
  EXPECT_EQ((*boxes)[1].class_id, 2);
  EXPECT_FLOAT_EQ((*boxes)[1].x_max, 0.7f);
  EXPECT_FLOAT_EQ((*boxes)[1].score, 0.8f);
  EXPECT_EQ((*boxes)[2].class_id, 2);
  EXPECT_FLOAT_EQ((*boxes)[2].score, 0.3f);
}

TEST(HailoNmsByClass, AllClassesEmpty) {
  const auto frame = ByClassFrame(80, 100, {});
  auto boxes = ParseHailoNmsByClass(frame.data(), frame.size(), 100);
  ASSERT_TRUE(boxes.ok());
  EXPECT_TRUE(boxes->empty());
}

TEST(HailoNmsByClass, EveryClassAtTheMaximum) {
  std::map<int, std::vector<NormBox>> full;
  for (int c = 0; c < 3; ++c)
    for (int i = 0; i < 4; ++i) full[c].push_back({0.1f * i, 0.1f, 0.1f * i + 0.1f, 0.2f, 0.5f + 0.1f * c});
  const auto frame = ByClassFrame(3, 4, full);
  auto boxes = ParseHailoNmsByClass(frame.data(), frame.size(), 4);
  ASSERT_TRUE(boxes.ok()) << boxes.status().ToString();
  ASSERT_EQ(boxes->size(), 12u);
  EXPECT_EQ(boxes->back().class_id, 2);
  EXPECT_FLOAT_EQ(boxes->back().y_min, 0.3f);
  EXPECT_FLOAT_EQ(boxes->back().score, 0.7f);
}

TEST(HailoNmsByClass, RejectsCountAboveTheMaximum) {
  auto frame = ByClassFrame(2, 4, {});
  const float too_many = 5;
  std::memcpy(frame.data(), &too_many, 4);
  EXPECT_FALSE(ParseHailoNmsByClass(frame.data(), frame.size(), 4).ok());
}

TEST(HailoNmsByClass, RejectsATruncatedFrame) {
  std::map<int, std::vector<NormBox>> full;
  for (int i = 0; i < 4; ++i) full[0].push_back({0, 0, 1, 1, 0.5f});
  for (int i = 0; i < 4; ++i) full[1].push_back({0, 0, 1, 1, 0.5f});
  auto frame = ByClassFrame(2, 4, full);
  // One float short: no longer a whole number of class slots.
  frame.resize(frame.size() - 4);
  EXPECT_FALSE(ParseHailoNmsByClass(frame.data(), frame.size(), 4).ok());
}

TEST(HailoNmsByClass, RejectsBadCountsAndSizes) {
  auto frame = ByClassFrame(2, 4, {});
  const float fractional = 1.5f;
  std::memcpy(frame.data(), &fractional, 4);
  EXPECT_FALSE(ParseHailoNmsByClass(frame.data(), frame.size(), 4).ok());
  const float negative = -1;
  std::memcpy(frame.data(), &negative, 4);
  EXPECT_FALSE(ParseHailoNmsByClass(frame.data(), frame.size(), 4).ok());
  const float nan = std::numeric_limits<float>::quiet_NaN();
  std::memcpy(frame.data(), &nan, 4);
  EXPECT_FALSE(ParseHailoNmsByClass(frame.data(), frame.size(), 4).ok());
  // max_boxes_per_class disagreeing with the HEF makes the size inconsistent.
  const auto good = ByClassFrame(2, 4, {});
  EXPECT_FALSE(ParseHailoNmsByClass(good.data(), good.size(), 5).ok());
  EXPECT_FALSE(ParseHailoNmsByClass(good.data(), 0, 4).ok());
  EXPECT_FALSE(ParseHailoNmsByClass(good.data(), good.size(), 0).ok());
}

TEST(HailoNmsByScore, ParsesUnalignedPackedRecords) {
  const auto frame = ByScoreFrame(5, {{{0.1f, 0.2f, 0.3f, 0.4f, 0.95f}, 7},
                                      {{0.5f, 0.6f, 0.7f, 0.8f, 0.6f}, 0},
                                      {{0.0f, 0.0f, 0.5f, 0.5f, 0.25f}, 79}});
  ASSERT_EQ(frame.size(), 112u);
  auto boxes = ParseHailoNmsByScore(frame.data(), frame.size());
  ASSERT_TRUE(boxes.ok()) << boxes.status().ToString();
  ASSERT_EQ(boxes->size(), 3u);
  EXPECT_EQ((*boxes)[0].class_id, 7);
  EXPECT_FLOAT_EQ((*boxes)[0].y_min, 0.1f);
  EXPECT_FLOAT_EQ((*boxes)[0].x_max, 0.4f);
  EXPECT_FLOAT_EQ((*boxes)[0].score, 0.95f);
  EXPECT_EQ((*boxes)[1].class_id, 0);
  EXPECT_FLOAT_EQ((*boxes)[1].x_min, 0.6f);
  EXPECT_EQ((*boxes)[2].class_id, 79);
  EXPECT_FLOAT_EQ((*boxes)[2].score, 0.25f);
}

TEST(HailoNmsByScore, EmptyAndMalformedFrames) {
  const auto empty = ByScoreFrame(10, {});
  auto boxes = ParseHailoNmsByScore(empty.data(), empty.size());
  ASSERT_TRUE(boxes.ok());
  EXPECT_TRUE(boxes->empty());
  EXPECT_FALSE(ParseHailoNmsByScore(empty.data(), 1).ok());
  auto lying = ByScoreFrame(2, {});
  const uint16_t count = 3;  // 3 records do not fit in 2 + 2 * 22 bytes
  std::memcpy(lying.data(), &count, 2);
  EXPECT_FALSE(ParseHailoNmsByScore(lying.data(), lying.size()).ok());
  // Exactly full is fine.
  const auto full = ByScoreFrame(2, {{{0, 0, 1, 1, 0.5f}, 1}, {{0, 0, 1, 1, 0.5f}, 2}});
  EXPECT_TRUE(ParseHailoNmsByScore(full.data(), full.size()).ok());
}

TEST(HailoNmsDecode, MapsCoordinatesThroughTheLetterbox) {
  // 1280x720 image centred in 640x640: 0.5 model px per original px, 140 px of padding on top.
  LetterboxTransform t;
  t.scale_x = t.scale_y = 0.5f;
  t.pad_x = 0;
  t.pad_y = 140;
  t.original_width = 1280;
  t.original_height = 720;
  const NormBox b{0.25f, 0.125f, 0.5f, 0.375f, 0.9f};
  TensorList outputs;
  outputs.push_back(ToTensor(ByClassFrame(80, 4, {{2, {b}}}), DType::kFloat32));
  auto dets = DecodeHailoNms(HailoModel("hailo_nms_by_class"), outputs, t, KeepAll());
  ASSERT_TRUE(dets.ok()) << dets.status().ToString();
  ASSERT_EQ(dets->size(), 1u);
  const Detection& d = (*dets)[0];
  // x: 0.125 * 640 = 80 model px -> 160; 0.375 * 640 = 240 -> 480.
  // y: 0.25 * 640 = 160 -> (160 - 140) / 0.5 = 40; 0.5 * 640 = 320 -> 360.
  EXPECT_NEAR(d.box.x_min, 160, 1e-3);
  EXPECT_NEAR(d.box.x_max, 480, 1e-3);
  EXPECT_NEAR(d.box.y_min, 40, 1e-3);
  EXPECT_NEAR(d.box.y_max, 360, 1e-3);
  EXPECT_EQ(d.class_id, 2);
  EXPECT_EQ(d.label, "car");
  EXPECT_FLOAT_EQ(d.confidence, 0.9f);
}

TEST(HailoNmsDecode, NonSquareInputScalesEachAxisByItsOwnSize) {
  LetterboxTransform identity;  // model pixels == original pixels
  identity.original_width = 512;
  identity.original_height = 288;
  TensorList outputs;
  outputs.push_back(ToTensor(ByScoreFrame(4, {{{0.5f, 0.25f, 1.0f, 0.75f, 0.8f}, 0}}), DType::kUInt8));
  auto dets = DecodeHailoNms(HailoModel("hailo_nms_by_score", 512, 288), outputs, identity, KeepAll());
  ASSERT_TRUE(dets.ok()) << dets.status().ToString();
  ASSERT_EQ(dets->size(), 1u);
  EXPECT_NEAR((*dets)[0].box.x_min, 128, 1e-3);
  EXPECT_NEAR((*dets)[0].box.x_max, 384, 1e-3);
  EXPECT_NEAR((*dets)[0].box.y_min, 144, 1e-3);
  EXPECT_NEAR((*dets)[0].box.y_max, 288, 1e-3);
  EXPECT_EQ((*dets)[0].label, "person");
}

TEST(HailoNmsDecode, LabelsOffsetsAndUnknownClasses) {
  LetterboxTransform t;
  t.original_width = t.original_height = 640;
  ModelConfig m = HailoModel("hailo_nms_by_score");
  m.labels = {"background", "cat", "dog"};
  TensorList outputs;
  outputs.push_back(ToTensor(
      ByScoreFrame(
          3, {{{0, 0, 0.1f, 0.1f, 0.9f}, 1}, {{0, 0, 0.1f, 0.1f, 0.8f}, 2}, {{0, 0, 0.1f, 0.1f, 0.7f}, 9}}),
      DType::kUInt8));
  auto dets = DecodeHailoNms(m, outputs, t, KeepAll());
  ASSERT_TRUE(dets.ok());
  ASSERT_EQ(dets->size(), 3u);
  EXPECT_EQ((*dets)[0].label, "cat");
  EXPECT_EQ((*dets)[1].label, "dog");
  EXPECT_EQ((*dets)[2].label, "class_9");

  // A HEF whose class 0 is background, served with labels that start at the first real class.
  m.labels = {"cat", "dog"};
  m.decoder.class_id_offset = -1;
  dets = DecodeHailoNms(m, outputs, t, KeepAll());
  ASSERT_TRUE(dets.ok());
  EXPECT_EQ((*dets)[0].class_id, 0);
  EXPECT_EQ((*dets)[0].label, "cat");
  EXPECT_EQ((*dets)[1].label, "dog");
  EXPECT_EQ((*dets)[2].label, "class_8");
}

TEST(HailoNmsDecode, ThresholdsTargetsAndLimits) {
  LetterboxTransform t;
  t.original_width = t.original_height = 640;
  ModelConfig m = HailoModel("hailo_nms_by_class");
  const auto frame = ByClassFrame(3, 4,
                                  {{0, {{0, 0, 0.1f, 0.1f, 0.45f}, {0.2f, 0.2f, 0.3f, 0.3f, 0.95f}}},
                                   {1, {{0, 0, 0.1f, 0.1f, 0.6f}, {0.5f, 0.5f, 0.6f, 0.6f, 0.1f}}},
                                   {2, {{0, 0, 0.1f, 0.1f, 0.75f}}}});
  TensorList outputs;
  outputs.push_back(ToTensor(frame, DType::kFloat32));

  DetectionFilter f = KeepAll();
  auto all = DecodeHailoNms(m, outputs, t, f);
  ASSERT_TRUE(all.ok());
  // decoder.min_confidence (0.2) drops the 0.1 box; the rest come sorted by confidence.
  ASSERT_EQ(all->size(), 4u);
  EXPECT_FLOAT_EQ((*all)[0].confidence, 0.95f);
  EXPECT_FLOAT_EQ((*all)[1].confidence, 0.75f);
  EXPECT_FLOAT_EQ((*all)[2].confidence, 0.6f);
  EXPECT_FLOAT_EQ((*all)[3].confidence, 0.45f);

  f.threshold = 0.5f;
  auto above = DecodeHailoNms(m, outputs, t, f);
  ASSERT_TRUE(above.ok());
  EXPECT_EQ(above->size(), 3u);

  f.targets = {"Person"};
  auto people = DecodeHailoNms(m, outputs, t, f);
  ASSERT_TRUE(people.ok());
  ASSERT_EQ(people->size(), 1u);
  EXPECT_EQ((*people)[0].label, "person");

  f = KeepAll();
  f.max_results = 2;
  auto two = DecodeHailoNms(m, outputs, t, f);
  ASSERT_TRUE(two.ok());
  EXPECT_EQ(two->size(), 2u);

  m.decoder.max_detections = 1;
  auto one = DecodeHailoNms(m, outputs, t, KeepAll());
  ASSERT_TRUE(one.ok());
  ASSERT_EQ(one->size(), 1u);
  EXPECT_FLOAT_EQ((*one)[0].confidence, 0.95f);
}

TEST(HailoNmsDecode, SkipsNonFiniteBoxes) {
  LetterboxTransform t;
  t.original_width = t.original_height = 640;
  const float nan = std::numeric_limits<float>::quiet_NaN();
  TensorList outputs;
  outputs.push_back(ToTensor(
      ByScoreFrame(2, {{{nan, 0, 0.1f, 0.1f, 0.9f}, 0}, {{0, 0, 0.1f, 0.1f, 0.8f}, 1}}), DType::kUInt8));
  auto dets = DecodeHailoNms(HailoModel("hailo_nms_by_score"), outputs, t, KeepAll());
  ASSERT_TRUE(dets.ok());
  ASSERT_EQ(dets->size(), 1u);
  EXPECT_EQ((*dets)[0].label, "bicycle");
}

TEST(HailoNmsDecode, ErrorsOnWrongFamilyOrMissingOutput) {
  LetterboxTransform t;
  TensorList none;
  EXPECT_FALSE(DecodeHailoNms(HailoModel("hailo_nms_by_class"), none, t, KeepAll()).ok());
  TensorList outputs;
  outputs.push_back(ToTensor(ByClassFrame(2, 4, {}), DType::kFloat32));
  EXPECT_FALSE(DecodeHailoNms(HailoModel("yolox"), outputs, t, KeepAll()).ok());
  // A BY_CLASS frame declared with the wrong max_boxes_per_class is an error, not garbage boxes.
  ModelConfig m = HailoModel("hailo_nms_by_class");
  m.decoder.max_boxes_per_class = 7;
  EXPECT_FALSE(DecodeHailoNms(m, outputs, t, KeepAll()).ok());
}

}  // namespace
}  // namespace accel
