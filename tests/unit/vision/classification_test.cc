#include "vision/classification.h"

#include <gtest/gtest.h>

#include <cmath>

#include "decoder_fixtures.h"
#include "vision/decoder.h"

namespace accel {
namespace {

using testing::Letterbox;
using testing::List;
using testing::Model;
using testing::SetRow;
using testing::Threshold;
using testing::Zeros;

TensorList Values(std::initializer_list<float> values) {
  Tensor out = Zeros({1, static_cast<int64_t>(values.size())});
  SetRow(out, {0, 0}, values);
  return List(std::move(out));
}

TEST(DecodeClassification, SoftmaxTopK) {
  ModelConfig model = Model("classification", {{3}});
  model.decoder.activation = "softmax";
  model.decoder.top_k = 2;
  auto classes = DecodeClassification(model, Values({1, 3, 2}), Threshold(0.05f));
  ASSERT_TRUE(classes.ok()) << classes.status().ToString();
  ASSERT_EQ(classes->size(), 2u);
  const float sum = std::exp(1.f) + std::exp(3.f) + std::exp(2.f);
  EXPECT_EQ((*classes)[0].label, "dog");
  EXPECT_EQ((*classes)[0].class_id, 1);
  EXPECT_NEAR((*classes)[0].confidence, std::exp(3.f) / sum, 1e-6);
  EXPECT_EQ((*classes)[1].label, "bird");
  EXPECT_NEAR((*classes)[1].confidence, std::exp(2.f) / sum, 1e-6);
  auto strict = DecodeClassification(model, Values({1, 3, 2}), Threshold(0.4f));
  ASSERT_TRUE(strict.ok());
  ASSERT_EQ(strict->size(), 1u);
  EXPECT_EQ((*strict)[0].label, "dog");
}

TEST(DecodeClassification, ProbabilitiesAsGivenAndSigmoid) {
  ModelConfig model = Model("classification", {{3}});
  auto given = DecodeClassification(model, Values({0.1f, 0.2f, 0.7f}), Threshold(0.15f));
  ASSERT_TRUE(given.ok());
  ASSERT_EQ(given->size(), 2u);
  EXPECT_EQ((*given)[0].label, "bird");
  EXPECT_NEAR((*given)[0].confidence, 0.7f, 1e-6);
  EXPECT_EQ((*given)[1].label, "dog");
  model.decoder.activation = "sigmoid";
  auto sigmoid = DecodeClassification(model, Values({0, 2, -2}), Threshold(0.4f));
  ASSERT_TRUE(sigmoid.ok());
  ASSERT_EQ(sigmoid->size(), 2u);
  EXPECT_NEAR((*sigmoid)[0].confidence, 1 / (1 + std::exp(-2.f)), 1e-6);
  EXPECT_NEAR((*sigmoid)[1].confidence, 0.5f, 1e-6);
  auto none = DecodeClassification(model, Values({-5, -6, -7}), Threshold(0.4f));
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST(DecodeClassification, TargetsAndMaxResults) {
  ModelConfig model = Model("classification", {{3}});
  DetectionFilter filter = Threshold(0.05f);
  filter.targets = {"BIRD"};
  auto bird = DecodeClassification(model, Values({0.5f, 0.3f, 0.2f}), filter);
  ASSERT_TRUE(bird.ok());
  ASSERT_EQ(bird->size(), 1u);
  EXPECT_EQ((*bird)[0].label, "bird");
  filter.targets.clear();
  filter.max_results = 1;
  auto one = DecodeClassification(model, Values({0.5f, 0.3f, 0.2f}), filter);
  ASSERT_TRUE(one.ok());
  ASSERT_EQ(one->size(), 1u);
  EXPECT_EQ((*one)[0].label, "cat");
}

TEST(DecodeClassification, WrongShapesAndBoxDecoding) {
  const ModelConfig model = Model("classification", {{3}});
  EXPECT_EQ(DecodeClassification(model, List(Zeros({2, 3})), Threshold(0.4f)).status().code(),
            StatusCode::kInternal);
  EXPECT_EQ(DecodeClassification(model, List(Zeros({1, 3, 1})), Threshold(0.4f)).status().code(),
            StatusCode::kInternal);
  auto boxes = DecodeDetections(model, Values({1, 2, 3}), Letterbox(), Threshold(0.4f));
  EXPECT_EQ(boxes.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(boxes.status().message().find("classification model"), std::string::npos);
}

}  // namespace
}  // namespace accel
