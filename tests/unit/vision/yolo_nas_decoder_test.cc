#include "vision/yolo_nas_decoder.h"

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

// Raw form: boxes x1, y1, x2, y2 in model pixels and per-class scores; the decoder runs NMS.
TEST(DecodeYoloNas, RawBoxesAndScores) {
  Tensor boxes = Zeros({1, 4, 4}, "boxes");
  Tensor scores = Zeros({1, 4, 3}, "scores");
  SetRow(boxes, {0, 0, 0}, {24, 20, 40, 28});
  SetRow(scores, {0, 0, 0}, {0.1f, 0.85f, 0.2f});  // dog
  SetRow(boxes, {0, 1, 0}, {25, 20, 41, 28});
  SetRow(scores, {0, 1, 0}, {0, 0.5f, 0});  // dog again, overlapping: suppressed
  SetRow(boxes, {0, 2, 0}, {0, 4, 10, 14});
  SetRow(scores, {0, 2, 0}, {0.7f, 0, 0});  // cat at the top left corner
  SetRow(boxes, {0, 3, 0}, {30, 30, 40, 40});
  SetRow(scores, {0, 3, 0}, {0.3f, 0.3f, 0.3f});  // under the threshold
  auto dets = DecodeDetections(Model("yolo-nas", {{4, 4}, {4, 3}}), List(std::move(boxes), std::move(scores)),
                               Letterbox(), Threshold(0.4f));
  ASSERT_TRUE(dets.ok()) << dets.status().ToString();
  ASSERT_EQ(dets->size(), 2u);
  EXPECT_EQ((*dets)[0].label, "dog");
  EXPECT_NEAR((*dets)[0].confidence, 0.85f, 1e-6);
  ExpectBox((*dets)[0], 48, 24, 80, 40);
  EXPECT_EQ((*dets)[1].label, "cat");
  ExpectBox((*dets)[1], 0, 0, 20, 12);
}

TEST(DecodeYoloNas, RawRejectsMismatchedTensors) {
  const ModelConfig model = Model("yolo-nas", {{4, 4}, {4, 3}});
  auto other_count =
      DecodeDetections(model, List(Zeros({1, 4, 4}), Zeros({1, 5, 3})), Letterbox(), Threshold(0.4f));
  EXPECT_EQ(other_count.status().code(), StatusCode::kInternal);
  auto batch =
      DecodeDetections(model, List(Zeros({2, 4, 4}), Zeros({2, 4, 3})), Letterbox(), Threshold(0.4f));
  EXPECT_EQ(batch.status().code(), StatusCode::kInternal);
  auto none = DecodeDetections(model, List(Zeros({1, 4, 4}), Zeros({1, 4, 3})), Letterbox(), Threshold(0.4f));
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

// Flat form: NMS done by the model, rows of batch index, x1, y1, x2, y2, score, class; -1 class = padding.
TEST(DecodeYoloNas, FlatRowsKeptAsTheModelGaveThem) {
  Tensor flat = Zeros({1, 4, 7});
  SetRow(flat, {0, 0, 0}, {0, 24, 20, 40, 28, 0.85f, 1});
  SetRow(flat, {0, 1, 0}, {0, 25, 20, 41, 28, 0.5f, 1});  // overlapping: no NMS here, the model did it
  SetRow(flat, {0, 2, 0}, {0, 0, 4, 10, 14, 0.7f, 0});
  SetRow(flat, {0, 3, 0}, {0, 30, 30, 40, 40, 0.99f, -1});  // padding
  auto dets =
      DecodeDetections(Model("yolo-nas", {{-1, 7}}), List(std::move(flat)), Letterbox(), Threshold(0.4f));
  ASSERT_TRUE(dets.ok()) << dets.status().ToString();
  ASSERT_EQ(dets->size(), 3u);
  EXPECT_EQ((*dets)[0].label, "dog");
  ExpectBox((*dets)[0], 48, 24, 80, 40);
  EXPECT_EQ((*dets)[1].label, "cat");
  EXPECT_EQ((*dets)[2].label, "dog");
  EXPECT_NEAR((*dets)[2].confidence, 0.5f, 1e-6);
}

// Batch form: count, boxes, scores, classes (here int64, as super-gradients writes them).
TEST(DecodeYoloNas, BatchFormReadsCountRows) {
  Tensor count(DType::kInt64, {1, 1}, "num_predictions");
  count.data<int64_t>()[0] = 2;
  Tensor boxes = Zeros({1, 3, 4}, "boxes");
  SetRow(boxes, {0, 0, 0}, {24, 20, 40, 28});
  SetRow(boxes, {0, 1, 0}, {0, 4, 10, 14});
  SetRow(boxes, {0, 2, 0}, {30, 30, 40, 40});
  Tensor scores = Zeros({1, 3}, "scores");
  SetRow(scores, {0, 0}, {0.85f, 0.7f, 0.99f});  // the third row is past the count
  Tensor classes(DType::kInt64, {1, 3}, "classes");
  classes.data<int64_t>()[0] = 1;
  classes.data<int64_t>()[1] = 2;
  classes.data<int64_t>()[2] = 0;
  auto dets =
      DecodeDetections(Model("yolo-nas", {{1}, {-1, 4}, {-1}, {-1}}),
                       List(std::move(count), std::move(boxes), std::move(scores), std::move(classes)),
                       Letterbox(), Threshold(0.4f));
  ASSERT_TRUE(dets.ok()) << dets.status().ToString();
  ASSERT_EQ(dets->size(), 2u);
  EXPECT_EQ((*dets)[0].label, "dog");
  ExpectBox((*dets)[0], 48, 24, 80, 40);
  EXPECT_EQ((*dets)[1].label, "bird");
  ExpectBox((*dets)[1], 0, 0, 20, 12);
}

}  // namespace
}  // namespace accel
