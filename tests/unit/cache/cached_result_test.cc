#include "cache/cached_result.h"

#include <gtest/gtest.h>

namespace accel {
namespace {

CachedResult Sample() {
  CachedResult r;
  r.image_width = 640;
  r.image_height = 480;
  r.device_id = "cpu:0";
  r.engine_kind = "cpu";
  r.detections = {{0, "person", 0.9f, {1, 2, 30, 40}},
                  {2, "car", 0.3f, {5, 6, 7, 8}},
                  {0, "Person", 0.5f, {9, 9, 20, 20}}};
  r.classifications = {{3, "cat", 0.7f}};
  return r;
}

TEST(CachedResult, BytesReadBackAsTheSameResult) {
  const CachedResult r = Sample();
  auto back = ParseCachedResult(SerializeCachedResult(r));
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->image_width, 640);
  EXPECT_EQ(back->image_height, 480);
  EXPECT_EQ(back->device_id, "cpu:0");
  EXPECT_EQ(back->engine_kind, "cpu");
  ASSERT_EQ(back->detections.size(), 3u);
  EXPECT_EQ(back->detections[1].label, "car");
  EXPECT_EQ(back->detections[1].class_id, 2);
  EXPECT_FLOAT_EQ(back->detections[0].box.y_max, 40);
  ASSERT_EQ(back->classifications.size(), 1u);
  EXPECT_EQ(back->classifications[0].label, "cat");
}

TEST(CachedResult, EveryTruncationAndForeignBytesAreRefused) {
  const std::string bytes = SerializeCachedResult(Sample());
  for (size_t n = 0; n < bytes.size(); ++n)
    EXPECT_FALSE(ParseCachedResult(bytes.substr(0, n)).ok()) << "accepted the first " << n << " bytes";
  EXPECT_FALSE(ParseCachedResult(bytes + "x").ok());
  EXPECT_FALSE(ParseCachedResult("not ours at all").ok());
  // A forged count far beyond the bytes that follow must not be believed (nor allocated).
  std::string forged = SerializeCachedResult(CachedResult{});
  const size_t count_at = forged.size() - 8;  // detections count, then classifications count
  forged[count_at + 3] = 0x7f;
  EXPECT_FALSE(ParseCachedResult(forged).ok());
}

TEST(CachedResult, ClassificationFilterMatchesTheDetectionOne) {
  std::vector<Classification> classes = {{0, "cat", 0.2f}, {1, "Dog", 0.8f}, {2, "bird", 0.6f}};
  DetectionFilter filter;
  filter.threshold = 0.5f;
  filter.targets = {"dog", "bird"};
  filter.max_results = 1;
  ApplyClassificationFilter(classes, filter, 5);
  ASSERT_EQ(classes.size(), 1u);
  EXPECT_EQ(classes[0].label, "Dog");
}

TEST(CachedResult, TopKCountsOnlyTheTargets) {
  // As DecodeClassification does: the best top_k among the classes in targets, not the targets among the
  // best top_k.
  std::vector<Classification> classes = {{0, "a", 0.5f}, {1, "b", 0.4f}, {2, "c", 0.3f}, {3, "d", 0.2f}};
  DetectionFilter filter;
  filter.threshold = 0.1f;
  filter.targets = {"c", "d"};
  ApplyClassificationFilter(classes, filter, 2);
  ASSERT_EQ(classes.size(), 2u);
  EXPECT_EQ(classes[0].label, "c");
  EXPECT_EQ(classes[1].label, "d");
}

}  // namespace
}  // namespace accel
