#include "vision/yolo_decoders.h"

#include <gtest/gtest.h>

#include "decoder_fixtures.h"
#include "vision/decoder.h"

namespace accel {
namespace {

using testing::ExpectBox;
using testing::Letterbox;
using testing::List;
using testing::Model;
using testing::Set;
using testing::SetRow;
using testing::Threshold;
using testing::Zeros;

// yolov5: rows of cx, cy, w, h (model pixels), objectness, 3 class scores.
TEST(DecodeYolov5, BoxesScoresAndLetterbox) {
  Tensor out = Zeros({1, 3, 8});
  SetRow(out, {0, 0, 0}, {32, 24, 16, 8, 0.9f, 0.1f, 0.8f, 0.2f});  // dog 0.72 at (24, 20)-(40, 28)
  SetRow(out, {0, 1, 0}, {32, 32, 8, 8, 0.3f, 0, 0, 1.0f});         // 0.3: under the threshold
  SetRow(out, {0, 2, 0}, {2, 52, 8, 8, 0.95f, 0, 0, 0.9f});         // bird 0.855 over the left edge
  auto dets = DecodeDetections(Model("yolov5", {{3, 8}}), List(std::move(out)), Letterbox(), Threshold(0.4f));
  ASSERT_TRUE(dets.ok()) << dets.status().ToString();
  ASSERT_EQ(dets->size(), 2u);
  EXPECT_EQ((*dets)[0].label, "bird");
  EXPECT_EQ((*dets)[0].class_id, 2);
  EXPECT_NEAR((*dets)[0].confidence, 0.855f, 1e-6);
  ExpectBox((*dets)[0], 0, 80, 12, 96);  // x -4 clipped to 0; y (48 - 8) * 2 .. (56 - 8) * 2
  EXPECT_EQ((*dets)[1].label, "dog");
  EXPECT_NEAR((*dets)[1].confidence, 0.72f, 1e-6);
  ExpectBox((*dets)[1], 48, 24, 80, 40);
}

TEST(DecodeYolov5, NmsWithinClassOnly) {
  Tensor out = Zeros({1, 3, 8});
  SetRow(out, {0, 0, 0}, {32, 24, 16, 8, 0.9f, 0, 0.8f, 0});
  SetRow(out, {0, 1, 0}, {33, 24, 16, 8, 0.9f, 0, 0.7f, 0});  // same class, IoU 0.88: suppressed
  SetRow(out, {0, 2, 0}, {33, 24, 16, 8, 0.9f, 0.6f, 0, 0});  // same place, other class: kept
  auto dets = DecodeDetections(Model("yolov5", {{3, 8}}), List(std::move(out)), Letterbox(), Threshold(0.4f));
  ASSERT_TRUE(dets.ok());
  ASSERT_EQ(dets->size(), 2u);
  EXPECT_EQ((*dets)[0].label, "dog");
  EXPECT_EQ((*dets)[1].label, "cat");
}

TEST(DecodeYolov5, NothingFoundAndAllBelowThreshold) {
  const ModelConfig model = Model("yolov5", {{3, 8}});
  auto none = DecodeDetections(model, List(Zeros({1, 3, 8})), Letterbox(), Threshold(0.4f));
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
  Tensor out = Zeros({1, 3, 8});
  for (int64_t r = 0; r < 3; ++r) SetRow(out, {0, r, 0}, {32, 32, 8, 8, 0.9f, 0.3f, 0.4f, 0.35f});  // <= 0.36
  auto low = DecodeDetections(model, List(std::move(out)), Letterbox(), Threshold(0.4f));
  ASSERT_TRUE(low.ok());
  EXPECT_TRUE(low->empty());
}

TEST(DecodeYolov5, OneItemOnly) {
  const ModelConfig model = Model("yolov5", {{3, 8}});
  for (auto shape : std::vector<std::vector<int64_t>>{{2, 3, 8}, {1, 3, 9}, {1, 24}, {1, 3, 5}}) {
    auto dets = DecodeDetections(model, List(Zeros(shape)), Letterbox(), Threshold(0.4f));
    ASSERT_FALSE(dets.ok()) << ShapeToString(shape);
    EXPECT_EQ(dets.status().code(), StatusCode::kInternal);
    EXPECT_NE(dets.status().message().find("yolov5-test"), std::string::npos) << dets.status().message();
  }
  EXPECT_FALSE(
      DecodeDetections(model, List(Zeros({1, 3, 8}), Zeros({1, 3, 8})), Letterbox(), Threshold(0.4f)).ok());
}

// yolo-generic: 4 box values and 3 class scores per candidate, 10 candidates, in either layout.
Tensor GenericOutput(bool channels_first) {
  Tensor out = Zeros(channels_first ? std::vector<int64_t>{1, 7, 10} : std::vector<int64_t>{1, 10, 7});
  auto put = [&](int64_t n, std::initializer_list<float> values) {
    int64_t k = 0;
    for (float v : values) {
      if (channels_first)
        Set(out, {0, k++, n}, v);
      else
        Set(out, {0, n, k++}, v);
    }
  };
  put(3, {32, 24, 16, 8, 0, 0.8f, 0.1f});    // dog 0.8
  put(5, {32, 40, 8, 8, 0.3f, 0.2f, 0.1f});  // best 0.3: dropped
  put(7, {60, 12, 16, 16, 0.6f, 0, 0});      // cat 0.6 over the top right corner
  return out;
}

void ExpectGeneric(const StatusOr<std::vector<Detection>>& dets) {
  ASSERT_TRUE(dets.ok()) << dets.status().ToString();
  ASSERT_EQ(dets->size(), 2u);
  EXPECT_EQ((*dets)[0].label, "dog");
  EXPECT_NEAR((*dets)[0].confidence, 0.8f, 1e-6);
  ExpectBox((*dets)[0], 48, 24, 80, 40);
  EXPECT_EQ((*dets)[1].label, "cat");
  ExpectBox((*dets)[1], 104, 0, 128, 24);  // model (52, 4)-(68, 20): x 136 and y -8 clipped
}

TEST(DecodeYoloGeneric, ChannelsFirstAndLastGiveTheSameBoxes) {
  ExpectGeneric(DecodeDetections(Model("yolo-generic", {{7, 10}}), List(GenericOutput(true)), Letterbox(),
                                 Threshold(0.4f)));
  ExpectGeneric(DecodeDetections(Model("yolo-generic", {{10, 7}}), List(GenericOutput(false)), Letterbox(),
                                 Threshold(0.4f)));
  // A dynamic candidate count tells the layout too; a square shape needs decoder.layout.
  ExpectGeneric(DecodeDetections(Model("yolo-generic", {{7, -1}}), List(GenericOutput(true)), Letterbox(),
                                 Threshold(0.4f)));
  ModelConfig both_dynamic = Model("yolo-generic", {{-1, -1}});
  EXPECT_FALSE(DecodeDetections(both_dynamic, List(GenericOutput(false)), Letterbox(), Threshold(0.4f)).ok());
  both_dynamic.decoder.layout = "channels_last";
  ExpectGeneric(DecodeDetections(both_dynamic, List(GenericOutput(false)), Letterbox(), Threshold(0.4f)));
}

TEST(DecodeYoloGeneric, ThresholdAndEmptyOutput) {
  const ModelConfig model = Model("yolo-generic", {{7, 10}});
  auto strict = DecodeDetections(model, List(GenericOutput(true)), Letterbox(), Threshold(0.7f));
  ASSERT_TRUE(strict.ok());
  ASSERT_EQ(strict->size(), 1u);
  EXPECT_EQ((*strict)[0].label, "dog");
  auto loose = DecodeDetections(model, List(GenericOutput(true)), Letterbox(), Threshold(0.25f));
  ASSERT_TRUE(loose.ok());
  EXPECT_EQ(loose->size(), 3u);
  auto none = DecodeDetections(model, List(Zeros({1, 7, 10})), Letterbox(), Threshold(0.4f));
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
  auto batch = DecodeDetections(model, List(Zeros({2, 7, 10})), Letterbox(), Threshold(0.4f));
  EXPECT_EQ(batch.status().code(), StatusCode::kInternal);
}

TEST(DecodeYoloGeneric, ClassIdOffsetShiftsLabels) {
  ModelConfig model = Model("yolo-generic", {{7, 10}});
  model.labels = {"background", "cat", "dog", "bird"};
  model.decoder.class_id_offset = 1;
  auto dets = DecodeDetections(model, List(GenericOutput(true)), Letterbox(), Threshold(0.4f));
  ASSERT_TRUE(dets.ok());
  ASSERT_EQ(dets->size(), 2u);
  EXPECT_EQ((*dets)[0].class_id, 2);
  EXPECT_EQ((*dets)[0].label, "dog");
}

}  // namespace
}  // namespace accel
