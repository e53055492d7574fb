#include "vision/detection.h"

#include <gtest/gtest.h>

namespace accel {
namespace {

Detection Det(const std::string& label, float confidence) {
  Detection d;
  d.label = label;
  d.confidence = confidence;
  d.box = {0, 0, 1, 1};
  return d;
}

TEST(IoU, KnownValues) {
  const Box a{0, 0, 10, 10};
  EXPECT_FLOAT_EQ(IoU(a, a), 1.f);
  EXPECT_FLOAT_EQ(IoU(a, {10, 0, 20, 10}), 0.f);  // touching edges
  EXPECT_FLOAT_EQ(IoU(a, {30, 30, 40, 40}), 0.f);
  EXPECT_FLOAT_EQ(IoU(a, {5, 0, 15, 10}), 50.f / 150.f);
  EXPECT_FLOAT_EQ(IoU(a, {2, 2, 4, 4}), 4.f / 100.f);
  EXPECT_FLOAT_EQ(IoU({1, 1, 1, 1}, {1, 1, 1, 1}), 0.f);  // degenerate: no area, no NaN
  EXPECT_FLOAT_EQ(IoU(a, {5, 0, 15, 10}), IoU({5, 0, 15, 10}, a));
}

TEST(ApplyFilter, ThresholdSortsAndCaps) {
  std::vector<Detection> dets = {Det("dog", 0.5f), Det("cat", 0.9f), Det("dog", 0.39f), Det("car", 0.7f),
                                 Det("dog", 0.4f)};
  DetectionFilter filter;
  filter.threshold = 0.4f;
  ApplyFilter(dets, filter);
  ASSERT_EQ(dets.size(), 4u);
  EXPECT_EQ(dets[0].label, "cat");
  EXPECT_EQ(dets[1].label, "car");
  EXPECT_FLOAT_EQ(dets[2].confidence, 0.5f);
  EXPECT_FLOAT_EQ(dets[3].confidence, 0.4f);  // >= threshold is kept

  filter.max_results = 2;
  ApplyFilter(dets, filter);
  ASSERT_EQ(dets.size(), 2u);
  EXPECT_EQ(dets[1].label, "car");
  filter.max_results = 0;
  ApplyFilter(dets, filter);
  EXPECT_TRUE(dets.empty());
}

TEST(ApplyFilter, TargetsAreCaseInsensitive) {
  std::vector<Detection> dets = {Det("Person", 0.8f), Det("dog", 0.9f), Det("car", 0.6f),
                                 Det("persons", 0.95f)};
  DetectionFilter filter;
  filter.targets = {"PERSON", "car"};
  filter.max_results = -1;
  ApplyFilter(dets, filter);
  ASSERT_EQ(dets.size(), 2u);
  EXPECT_EQ(dets[0].label, "Person");
  EXPECT_EQ(dets[1].label, "car");
}

}  // namespace
}  // namespace accel
