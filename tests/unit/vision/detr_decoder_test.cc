#include "vision/detr_decoder.h"

#include <gtest/gtest.h>

#include <cmath>

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

float Sigmoid(float x) { return 1.f / (1.f + std::exp(-x)); }

// Three queries: cx, cy, w, h normalised, and one logit per class.
TensorList Queries(std::initializer_list<float> q0, std::initializer_list<float> q1,
                   std::initializer_list<float> q2, int64_t columns = 3) {
  Tensor boxes = Zeros({1, 3, 4}, "pred_boxes");
  SetRow(boxes, {0, 0, 0}, {0.5f, 0.375f, 0.25f, 0.125f});  // model (24, 20)-(40, 28)
  SetRow(boxes, {0, 1, 0}, {0.5f, 0.5f, 0.1f, 0.1f});
  SetRow(boxes, {0, 2, 0}, {0.05f, 0.5f, 0.2f, 0.2f});  // model (-3.2, 25.6)-(9.6, 38.4)
  Tensor logits = Zeros({1, 3, columns}, "pred_logits");
  SetRow(logits, {0, 0, 0}, q0);
  SetRow(logits, {0, 1, 0}, q1);
  SetRow(logits, {0, 2, 0}, q2);
  return List(std::move(boxes), std::move(logits));
}

TEST(DecodeDetr, SigmoidByDefaultOneDetectionPerQuery) {
  auto dets = DecodeDetections(Model("detr", {{3, 4}, {3, 3}}), Queries({-2, 2, -1}, {-3, -3, -3}, {1, 0, 0}),
                               Letterbox(), Threshold(0.4f));
  ASSERT_TRUE(dets.ok()) << dets.status().ToString();
  ASSERT_EQ(dets->size(), 2u);
  EXPECT_EQ((*dets)[0].label, "dog");
  EXPECT_NEAR((*dets)[0].confidence, Sigmoid(2), 1e-6);
  ExpectBox((*dets)[0], 48, 24, 80, 40);
  EXPECT_EQ((*dets)[1].label, "cat");
  EXPECT_NEAR((*dets)[1].confidence, Sigmoid(1), 1e-6);
  ExpectBox((*dets)[1], 0, 35.2f, 19.2f, 60.8f);  // x -6.4 clipped
}

TEST(DecodeDetr, NoNmsBetweenQueries) {
  // Queries 0 and 1 overlap heavily with the same class; a set predictor's duplicates are the model's call.
  Tensor boxes = Zeros({1, 2, 4});
  SetRow(boxes, {0, 0, 0}, {0.5f, 0.5f, 0.25f, 0.25f});
  SetRow(boxes, {0, 1, 0}, {0.51f, 0.5f, 0.25f, 0.25f});
  Tensor logits = Zeros({1, 2, 3});
  SetRow(logits, {0, 0, 0}, {3, 0, 0});
  SetRow(logits, {0, 1, 0}, {2, 0, 0});
  auto dets = DecodeDetections(Model("detr", {{2, 4}, {2, 3}}), List(std::move(boxes), std::move(logits)),
                               Letterbox(), Threshold(0.4f));
  ASSERT_TRUE(dets.ok());
  EXPECT_EQ(dets->size(), 2u);
}

TEST(DecodeDetr, SoftmaxWithNoObjectColumn) {
  ModelConfig model = Model("detr", {{3, 4}, {3, 4}});
  model.decoder.activation = "softmax";
  model.decoder.no_object_class = true;
  // Query 0: dog 2 against no-object 3; query 2: no-object wins by far.
  auto dets = DecodeDetections(model, Queries({0, 2, 0, 3}, {0, 0, 0, 0}, {0, 0, 0, 5}, 4), Letterbox(),
                               Threshold(0.2f));
  ASSERT_TRUE(dets.ok()) << dets.status().ToString();
  ASSERT_EQ(dets->size(), 2u);
  const float e2 = std::exp(2.f), e3 = std::exp(3.f);
  EXPECT_EQ((*dets)[0].label, "dog");
  EXPECT_NEAR((*dets)[0].confidence, e2 / (2 + e2 + e3), 1e-6);  // 0.2507
  EXPECT_NEAR((*dets)[1].confidence, 0.25f, 1e-6);               // query 1: four equal logits
  EXPECT_EQ((*dets)[1].label, "cat");                            // the first of equal classes
  auto strict = DecodeDetections(model, Queries({0, 2, 0, 3}, {0, 0, 0, 0}, {0, 0, 0, 5}, 4), Letterbox(),
                                 Threshold(0.4f));
  ASSERT_TRUE(strict.ok());
  EXPECT_TRUE(strict->empty());  // every class under the threshold
}

TEST(DecodeDetr, MismatchedQueriesAreInternal) {
  const ModelConfig model = Model("detr", {{3, 4}, {3, 3}});
  TensorList outputs = Queries({0, 0, 0}, {0, 0, 0}, {0, 0, 0});
  outputs[1] = Zeros({1, 2, 3});
  EXPECT_EQ(DecodeDetections(model, std::move(outputs), Letterbox(), Threshold(0.4f)).status().code(),
            StatusCode::kInternal);
  EXPECT_EQ(DecodeDetections(model, List(Zeros({2, 3, 4}), Zeros({2, 3, 3})), Letterbox(), Threshold(0.4f))
                .status()
                .code(),
            StatusCode::kInternal);
}

}  // namespace
}  // namespace accel
