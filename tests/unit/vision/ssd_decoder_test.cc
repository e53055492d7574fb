#include "vision/ssd_decoder.h"

#include <gtest/gtest.h>

#include "decoder_fixtures.h"
#include "vision/decoder.h"

namespace accel {
namespace {

using testing::ExpectBox;
using testing::Letterbox;
using testing::List;
using testing::Model;
using testing::SetRow;
using testing::Threshold;
using testing::Zeros;

// TF object detection layout: boxes y_min, x_min, y_max, x_max normalised; classes; scores; count.
TensorList TfOutputs(float count) {
  Tensor boxes = Zeros({1, 3, 4}, "detection_boxes");
  SetRow(boxes, {0, 0, 0}, {20 / 64.f, 24 / 64.f, 28 / 64.f, 40 / 64.f});  // model (24, 20)-(40, 28)
  SetRow(boxes, {0, 1, 0}, {0.75f, 0.75f, 1.0f, 1.0f});                    // bottom right corner
  SetRow(boxes, {0, 2, 0}, {0.1f, 0.1f, 0.2f, 0.2f});
  Tensor classes = Zeros({1, 3}, "detection_classes");
  SetRow(classes, {0, 0}, {1, 2, 0});
  Tensor scores = Zeros({1, 3}, "detection_scores");
  SetRow(scores, {0, 0}, {0.9f, 0.6f, 0.95f});
  Tensor num = Zeros({1, 1}, "num_detections");
  SetRow(num, {0, 0}, {count});
  return List(std::move(boxes), std::move(classes), std::move(scores), std::move(num));
}

TEST(DecodeSsd, TfLayoutReadsCountRows) {
  auto dets =
      DecodeDetections(Model("ssd", {{3, 4}, {3}, {3}, {1}}), TfOutputs(2), Letterbox(), Threshold(0.4f));
  ASSERT_TRUE(dets.ok()) << dets.status().ToString();
  ASSERT_EQ(dets->size(), 2u);  // the 0.95 row is past the count
  EXPECT_EQ((*dets)[0].label, "dog");
  EXPECT_NEAR((*dets)[0].confidence, 0.9f, 1e-6);
  ExpectBox((*dets)[0], 48, 24, 80, 40);
  EXPECT_EQ((*dets)[1].label, "bird");
  ExpectBox((*dets)[1], 96, 80, 128, 96);  // model (48, 48)-(64, 64); y 112 clipped to the image
}

TEST(DecodeSsd, WithoutCountEveryRowAndCountsAreClamped) {
  TensorList outputs = TfOutputs(0);
  outputs.pop_back();
  auto three =
      DecodeDetections(Model("ssd", {{3, 4}, {3}, {3}}), std::move(outputs), Letterbox(), Threshold(0.4f));
  ASSERT_TRUE(three.ok()) << three.status().ToString();
  ASSERT_EQ(three->size(), 3u);
  EXPECT_EQ((*three)[0].label, "cat");
  const ModelConfig model = Model("ssd", {{3, 4}, {3}, {3}, {1}});
  auto zero = DecodeDetections(model, TfOutputs(0), Letterbox(), Threshold(0.4f));
  ASSERT_TRUE(zero.ok());
  EXPECT_TRUE(zero->empty());
  auto too_many = DecodeDetections(model, TfOutputs(1e9f), Letterbox(), Threshold(0.4f));
  ASSERT_TRUE(too_many.ok());
  EXPECT_EQ(too_many->size(), 3u);
  auto all_low = DecodeDetections(model, TfOutputs(3), Letterbox(), Threshold(0.96f));
  ASSERT_TRUE(all_low.ok());
  EXPECT_TRUE(all_low->empty());
}

TEST(DecodeSsd, ClassIdsFromOneWithCoco91AndFromZeroWithOffset) {
  ModelConfig tf = Model("ssd", {{3, 4}, {3}, {3}, {1}});
  tf.labels = Coco91Labels();
  auto dets = DecodeDetections(tf, TfOutputs(2), Letterbox(), Threshold(0.4f));
  ASSERT_TRUE(dets.ok());
  ASSERT_EQ(dets->size(), 2u);
  EXPECT_EQ((*dets)[0].label, "person");  // TF id 1
  EXPECT_EQ((*dets)[1].label, "bicycle");
  tf.decoder.class_id_offset = 1;  // TFLite numbers from 0
  auto shifted = DecodeDetections(tf, TfOutputs(2), Letterbox(), Threshold(0.4f));
  ASSERT_TRUE(shifted.ok());
  EXPECT_EQ((*shifted)[0].label, "bicycle");
  EXPECT_EQ((*shifted)[0].class_id, 2);
}

TEST(DecodeSsd, DetectionOutputStopsAtNegativeImageId) {
  Tensor out = Zeros({1, 1, 4, 7}, "detection_out");
  SetRow(out, {0, 0, 0, 0}, {0, 1, 0.9f, 24 / 64.f, 20 / 64.f, 40 / 64.f, 28 / 64.f});
  SetRow(out, {0, 0, 1, 0}, {0, 2, 0.6f, 0.75f, 0.75f, 1.0f, 1.0f});
  SetRow(out, {0, 0, 2, 0}, {-1, 0, 0, 0, 0, 0, 0});
  SetRow(out, {0, 0, 3, 0}, {0, 0, 0.99f, 0.1f, 0.1f, 0.2f, 0.2f});  // after the end marker
  auto dets = DecodeDetections(Model("ssd", {{1, 4, 7}}), List(std::move(out)), Letterbox(), Threshold(0.4f));
  ASSERT_TRUE(dets.ok()) << dets.status().ToString();
  ASSERT_EQ(dets->size(), 2u);
  EXPECT_EQ((*dets)[0].label, "dog");
  ExpectBox((*dets)[0], 48, 24, 80, 40);
  EXPECT_EQ((*dets)[1].label, "bird");
  ExpectBox((*dets)[1], 96, 80, 128, 96);
}

TEST(DecodeSsd, MismatchedTensorsAreInternal) {
  const ModelConfig model = Model("ssd", {{3, 4}, {3}, {3}, {1}});
  TensorList wrong = TfOutputs(2);
  wrong[2] = Zeros({1, 4});
  EXPECT_EQ(DecodeDetections(model, std::move(wrong), Letterbox(), Threshold(0.4f)).status().code(),
            StatusCode::kInternal);
  TensorList batch = TfOutputs(2);
  batch[0] = Zeros({2, 3, 4});
  EXPECT_EQ(DecodeDetections(model, std::move(batch), Letterbox(), Threshold(0.4f)).status().code(),
            StatusCode::kInternal);
  EXPECT_EQ(
      DecodeDetections(Model("ssd", {{1, 4, 7}}), List(Zeros({1, 1, 4, 6})), Letterbox(), Threshold(0.4f))
          .status()
          .code(),
      StatusCode::kInternal);
}

}  // namespace
}  // namespace accel
