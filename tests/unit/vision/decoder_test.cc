#include "vision/decoder.h"

#include <gtest/gtest.h>

#include <cmath>

namespace accel {
namespace {

constexpr int kAnchors = 3549;  // 52*52 + 26*26 + 13*13
constexpr int kPerAnchor = 85;

ModelConfig YoloxModel() {
  ModelConfig model;
  model.name = "yolox-test";
  model.input.width = 416;
  model.input.height = 416;
  model.outputs.push_back({"output", {kAnchors, kPerAnchor}, DType::kFloat32});
  model.decoder.family = "yolox";
  model.labels = CocoLabels();
  return model;
}

TensorList ZeroOutput(std::vector<int64_t> shape = {1, kAnchors, kPerAnchor}) {
  Tensor t(DType::kFloat32, std::move(shape), "output");
  std::fill(t.data<float>(), t.data<float>() + t.num_elements(), 0.f);
  TensorList list;
  list.push_back(std::move(t));
  return list;
}

int AnchorIndex(int stride, int gx, int gy) {
  int index = 0;
  for (int s : {8, 16, 32}) {
    const int grid = 416 / s;
    if (s == stride) return index + gy * grid + gx;
    index += grid * grid;
  }
  return -1;
}

void Plant(TensorList& outputs, int stride, int gx, int gy, float tx, float ty, float tw, float th, float obj,
           int class_id, float class_score) {
  float* row = outputs[0].data<float>() + static_cast<int64_t>(AnchorIndex(stride, gx, gy)) * kPerAnchor;
  row[0] = tx;
  row[1] = ty;
  row[2] = tw;
  row[3] = th;
  row[4] = obj;
  row[5 + class_id] = class_score;
}

LetterboxTransform HalfScale() {
  LetterboxTransform tr;
  tr.scale_x = tr.scale_y = 0.5f;
  tr.original_width = 832;
  tr.original_height = 832;
  return tr;
}

TEST(DecodeYolox, PlantedAnchorBoxMathAndLabel) {
  TensorList outputs = ZeroOutput();
  // Stride 16, cell (5, 7): cx = (0.5 + 5) * 16 = 88, cy = (0.25 + 7) * 16 = 116, w = 2 * 16, h = 16.
  Plant(outputs, 16, 5, 7, 0.5f, 0.25f, std::log(2.f), 0.f, 0.9f, 2, 0.8f);
  DetectionFilter filter;
  filter.threshold = 0.4f;
  auto dets = DecodeDetections(YoloxModel(), outputs, HalfScale(), filter);
  ASSERT_TRUE(dets.ok()) << dets.status().ToString();
  ASSERT_EQ(dets->size(), 1u);
  const Detection& d = (*dets)[0];
  EXPECT_EQ(d.class_id, 2);
  EXPECT_EQ(d.label, "car");
  EXPECT_NEAR(d.confidence, 0.72f, 1e-6);
  // Model box (72, 108, 104, 124), divided by the scale 0.5.
  EXPECT_NEAR(d.box.x_min, 144, 1e-3);
  EXPECT_NEAR(d.box.y_min, 216, 1e-3);
  EXPECT_NEAR(d.box.x_max, 208, 1e-3);
  EXPECT_NEAR(d.box.y_max, 248, 1e-3);
}

TEST(DecodeYolox, GridOrderCoversAllStrides) {
  TensorList outputs = ZeroOutput();
  Plant(outputs, 8, 51, 51, 0, 0, 0, 0, 0.9f, 0, 0.9f);  // last stride-8 cell
  Plant(outputs, 32, 0, 12, 0, 0, 0, 0, 0.8f, 1, 0.9f);  // stride-32 cell, last row
  DetectionFilter filter;
  filter.threshold = 0.3f;
  LetterboxTransform identity;
  identity.original_width = 416;
  identity.original_height = 416;
  auto dets = DecodeDetections(YoloxModel(), outputs, identity, filter);
  ASSERT_TRUE(dets.ok());
  ASSERT_EQ(dets->size(), 2u);
  EXPECT_EQ((*dets)[0].label, "person");
  EXPECT_NEAR((*dets)[0].box.x_min, 51 * 8 - 4, 1e-3);
  EXPECT_NEAR((*dets)[0].box.y_max, 51 * 8 + 4, 1e-3);
  EXPECT_EQ((*dets)[1].label, "bicycle");
  EXPECT_NEAR((*dets)[1].box.x_min, 0, 1e-3);  // -16 clipped to the image
  EXPECT_NEAR((*dets)[1].box.x_max, 16, 1e-3);
  EXPECT_NEAR((*dets)[1].box.y_min, 12 * 32 - 16, 1e-3);
}

TEST(DecodeYolox, BestClassOnlyPerAnchor) {
  TensorList outputs = ZeroOutput();
  Plant(outputs, 8, 10, 10, 0, 0, 1, 1, 0.9f, 3, 0.7f);
  outputs[0].data<float>()[AnchorIndex(8, 10, 10) * kPerAnchor + 5 + 7] = 0.6f;  // runner-up class
  DetectionFilter filter;
  filter.threshold = 0.1f;
  auto dets = DecodeDetections(YoloxModel(), outputs, HalfScale(), filter);
  ASSERT_TRUE(dets.ok());
  ASSERT_EQ(dets->size(), 1u);
  EXPECT_EQ((*dets)[0].class_id, 3);
}

TEST(DecodeYolox, ThresholdsAndModelFloor) {
  TensorList outputs = ZeroOutput();
  Plant(outputs, 8, 1, 1, 0, 0, 0, 0, 0.6f, 0, 0.5f);    // 0.30
  Plant(outputs, 8, 20, 20, 0, 0, 0, 0, 0.2f, 0, 0.2f);  // 0.04: under the model's 0.05 floor
  Plant(outputs, 8, 40, 40, 0, 0, 0, 0, 0.9f, 0, 0.9f);  // 0.81
  ModelConfig model = YoloxModel();
  DetectionFilter filter;
  filter.threshold = 0.4f;
  auto high = DecodeDetections(model, outputs, HalfScale(), filter);
  ASSERT_TRUE(high.ok());
  EXPECT_EQ(high->size(), 1u);
  filter.threshold = 0.25f;
  auto mid = DecodeDetections(model, outputs, HalfScale(), filter);
  ASSERT_TRUE(mid.ok());
  EXPECT_EQ(mid->size(), 2u);
  filter.threshold = 0.0f;  // a request cannot go below decoder.min_confidence
  auto low = DecodeDetections(model, outputs, HalfScale(), filter);
  ASSERT_TRUE(low.ok());
  EXPECT_EQ(low->size(), 2u);
  model.decoder.min_confidence = 0.01f;
  auto lower_floor = DecodeDetections(model, outputs, HalfScale(), filter);
  ASSERT_TRUE(lower_floor.ok());
  EXPECT_EQ(lower_floor->size(), 3u);
}

TEST(DecodeYolox, ClassAwareNms) {
  TensorList outputs = ZeroOutput();
  // Two neighbouring stride-8 anchors predicting nearly the same 64x64 box.
  const float tw = std::log(8.f);
  Plant(outputs, 8, 10, 10, 0.5f, 0.5f, tw, tw, 0.9f, 0, 0.9f);
  Plant(outputs, 8, 11, 10, -0.4f, 0.5f, tw, tw, 0.9f, 0, 0.8f);
  // Same place, different class: kept.
  Plant(outputs, 8, 10, 11, 0.5f, -0.5f, tw, tw, 0.9f, 16, 0.7f);
  DetectionFilter filter;
  filter.threshold = 0.3f;
  auto dets = DecodeDetections(YoloxModel(), outputs, HalfScale(), filter);
  ASSERT_TRUE(dets.ok());
  ASSERT_EQ(dets->size(), 2u);
  EXPECT_EQ((*dets)[0].label, "person");
  EXPECT_NEAR((*dets)[0].confidence, 0.81f, 1e-6);
  EXPECT_EQ((*dets)[1].label, "dog");
}

TEST(DecodeYolox, FilterTargetsAndMaxResults) {
  TensorList outputs = ZeroOutput();
  Plant(outputs, 32, 1, 1, 0, 0, 0, 0, 0.9f, 0, 0.9f);
  Plant(outputs, 32, 5, 5, 0, 0, 0, 0, 0.9f, 2, 0.8f);
  Plant(outputs, 32, 9, 9, 0, 0, 0, 0, 0.9f, 0, 0.7f);
  DetectionFilter filter;
  filter.threshold = 0.3f;
  filter.targets = {"PERSON"};
  auto people = DecodeDetections(YoloxModel(), outputs, HalfScale(), filter);
  ASSERT_TRUE(people.ok());
  ASSERT_EQ(people->size(), 2u);
  EXPECT_EQ((*people)[0].label, "person");
  filter.targets.clear();
  filter.max_results = 1;
  auto one = DecodeDetections(YoloxModel(), outputs, HalfScale(), filter);
  ASSERT_TRUE(one.ok());
  ASSERT_EQ(one->size(), 1u);
  EXPECT_NEAR((*one)[0].confidence, 0.81f, 1e-6);
}

TEST(DecodeYolox, AcceptsOutputWithoutBatchDimension) {
  TensorList outputs = ZeroOutput({kAnchors, kPerAnchor});
  Plant(outputs, 16, 3, 3, 0, 0, 0, 0, 0.9f, 5, 0.9f);
  auto dets = DecodeDetections(YoloxModel(), outputs, HalfScale(), DetectionFilter{});
  ASSERT_TRUE(dets.ok()) << dets.status().ToString();
  EXPECT_EQ(dets->size(), 1u);
}

TEST(DecodeYolox, ShapeMismatchIsInternal) {
  const ModelConfig model = YoloxModel();
  for (auto shape : std::vector<std::vector<int64_t>>{
           {1, 14196, 85}, {4, kAnchors, kPerAnchor}, {1, kAnchors, 84}, {1, kAnchors}}) {
    auto dets = DecodeDetections(model, ZeroOutput(shape), HalfScale(), DetectionFilter{});
    ASSERT_FALSE(dets.ok()) << ShapeToString(shape);
    EXPECT_EQ(dets.status().code(), StatusCode::kInternal);
    EXPECT_NE(dets.status().message().find("yolox"), std::string::npos) << dets.status().message();
  }
  auto none = DecodeDetections(model, TensorList{}, HalfScale(), DetectionFilter{});
  EXPECT_EQ(none.status().code(), StatusCode::kInternal);
  TensorList two = ZeroOutput();
  two.push_back(ZeroOutput()[0].Clone());
  EXPECT_EQ(DecodeDetections(model, two, HalfScale(), DetectionFilter{}).status().code(),
            StatusCode::kInternal);
  TensorList wrong_dtype;
  wrong_dtype.emplace_back(DType::kFloat16, std::vector<int64_t>{1, kAnchors, kPerAnchor}, "output");
  EXPECT_EQ(DecodeDetections(model, wrong_dtype, HalfScale(), DetectionFilter{}).status().code(),
            StatusCode::kInternal);
}

TEST(DecodeYolox, NanScoresAreIgnored) {
  TensorList outputs = ZeroOutput();
  Plant(outputs, 8, 2, 2, 0, 0, 0, 0, std::nanf(""), 0, 0.9f);
  Plant(outputs, 8, 3, 3, 0, 0, 0, 0, 0.9f, 0, std::nanf(""));
  auto dets = DecodeDetections(YoloxModel(), outputs, HalfScale(), DetectionFilter{});
  ASSERT_TRUE(dets.ok());
  EXPECT_TRUE(dets->empty());
}

TEST(DecodeDetections, DispatchesOnFamily) {
  ModelConfig model = YoloxModel();
  model.decoder.family = "raw";
  auto raw = DecodeDetections(model, ZeroOutput(), HalfScale(), DetectionFilter{});
  EXPECT_EQ(raw.status().code(), StatusCode::kInvalidArgument);
  model.decoder.family = "ssd-mobilenet-v9";
  auto unknown = DecodeDetections(model, ZeroOutput(), HalfScale(), DetectionFilter{});
  EXPECT_EQ(unknown.status().code(), StatusCode::kUnimplemented);
  EXPECT_NE(unknown.status().message().find("ssd-mobilenet-v9"), std::string::npos);
  for (const char* family : {"hailo_nms_by_class", "hailo_nms_by_score"}) {
    model.decoder.family = family;
    // No tensors at all: the Hailo decoder must reject them, but it is reached (not an unknown family).
    auto hailo = DecodeDetections(model, TensorList{}, HalfScale(), DetectionFilter{});
    EXPECT_FALSE(hailo.ok());
    EXPECT_EQ(hailo.status().message().find("unknown decoder family"), std::string::npos);
  }
}

Detection Det(int class_id, float confidence, Box box) {
  Detection d;
  d.class_id = class_id;
  d.label = "c" + std::to_string(class_id);
  d.confidence = confidence;
  d.box = box;
  return d;
}

TEST(NonMaxSuppression, SuppressesWithinClassOnly) {
  std::vector<Detection> candidates = {
      Det(0, 0.6f, {0, 0, 10, 10}),   Det(0, 0.9f, {1, 0, 11, 10}),  // IoU 9/11 = 0.82
      Det(1, 0.7f, {0, 0, 10, 10}),                                  // other class
      Det(0, 0.5f, {20, 20, 30, 30}),                                // far away
      Det(0, 0.4f, {0, 0, 10, 18}),                                  // IoU with best 9/19 = 0.47
  };
  auto kept = NonMaxSuppression(candidates, 0.45f, 100);
  ASSERT_EQ(kept.size(), 3u);
  EXPECT_FLOAT_EQ(kept[0].confidence, 0.9f);
  EXPECT_EQ(kept[1].class_id, 1);
  EXPECT_FLOAT_EQ(kept[2].confidence, 0.5f);
  auto looser = NonMaxSuppression(candidates, 0.5f, 100);
  EXPECT_EQ(looser.size(), 4u);
  auto capped = NonMaxSuppression(candidates, 0.45f, 2);
  EXPECT_EQ(capped.size(), 2u);
}

TEST(NonMaxSuppression, TiesAreStable) {
  std::vector<Detection> candidates = {Det(0, 0.5f, {0, 0, 10, 10}), Det(0, 0.5f, {0, 0, 10, 11}),
                                       Det(0, 0.5f, {50, 50, 60, 60})};
  auto kept = NonMaxSuppression(candidates, 0.45f, 0);
  ASSERT_EQ(kept.size(), 2u);
  EXPECT_FLOAT_EQ(kept[0].box.y_max, 10);  // the first of equal scores wins
  EXPECT_FLOAT_EQ(kept[1].box.x_min, 50);
}

}  // namespace
}  // namespace accel
