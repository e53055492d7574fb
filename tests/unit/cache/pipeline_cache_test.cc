// The detection pipeline with a result cache, on the cpu engine and the default model (real detections):
// a second identical request runs no inference, a request with another threshold or targets answered from
// the cache equals the uncached answer, opting out bypasses, concurrent identical requests infer once.
#include <gtest/gtest.h>

#include <fstream>
#include <future>
#include <iterator>

#include "cache/result_cache.h"
#include "core/thread_pool.h"
#include "pipeline/detection_pipeline.h"
#include "protocol_test_core.h"
#include "scheduler/scheduler.h"

namespace accel {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

class PipelineCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto engine = MakeTestCpuEngine();
    ASSERT_TRUE(engine.ok()) << engine.status().message();
    ASSERT_TRUE(scheduler_.AddDevice(std::move(engine).value()).ok());
    auto model = LoadModelConfig(std::string(ACCEL_SOURCE_DIR) + "/models/yolox-nano/model.yaml");
    ASSERT_TRUE(model.ok()) << model.status().message();
    ASSERT_TRUE(scheduler_.LoadModel(*model).ok());
    pipeline_ = std::make_unique<DetectionPipeline>(&scheduler_, &pool_, model->name, ImageLimits{}, &cache_);
    image_ = ReadFile(std::string(ACCEL_SHARED_DIR) + "/testdata/images/000000000139.jpg");
    ASSERT_FALSE(image_.empty());
  }
  void TearDown() override { scheduler_.Shutdown(); }

  uint64_t Inferences() { return scheduler_.Devices().at(0).stats.items_executed; }
  DetectionRequest Request(float threshold, std::vector<std::string> targets = {}, bool use_cache = true) {
    DetectionRequest r;
    r.encoded = image_;
    r.filter.threshold = threshold;
    r.filter.targets = std::move(targets);
    r.use_cache = use_cache;
    return r;
  }
  static void ExpectSameDetections(const DetectionResult& a, const DetectionResult& b) {
    ASSERT_EQ(a.detections.size(), b.detections.size());
    for (size_t i = 0; i < a.detections.size(); ++i) {
      EXPECT_EQ(a.detections[i].label, b.detections[i].label) << i;
      EXPECT_FLOAT_EQ(a.detections[i].confidence, b.detections[i].confidence) << i;
      EXPECT_FLOAT_EQ(a.detections[i].box.x_min, b.detections[i].box.x_min) << i;
      EXPECT_FLOAT_EQ(a.detections[i].box.y_max, b.detections[i].box.y_max) << i;
    }
  }

  ResultCache cache_{ResultCache::Options{}};
  Scheduler scheduler_{SchedulerOptions{}};
  ThreadPool pool_{2};
  std::unique_ptr<DetectionPipeline> pipeline_;
  std::string image_;
};

TEST_F(PipelineCacheTest, AHitRunsNoInferenceAndIsFilteredLikeAnUncachedAnswer) {
  auto miss = pipeline_->DetectSync(Request(0.3f));
  ASSERT_TRUE(miss.ok()) << miss.status().message();
  EXPECT_EQ(miss->cache, CacheStatus::kMiss);
  ASSERT_FALSE(miss->detections.empty()) << "the test image has people and objects at 0.3";
  const uint64_t after_miss = Inferences();

  auto same = pipeline_->DetectSync(Request(0.3f));
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(same->cache, CacheStatus::kHit);
  EXPECT_EQ(Inferences(), after_miss) << "a hit must not run the model";
  ExpectSameDetections(*miss, *same);
  EXPECT_EQ(same->device_id, miss->device_id);

  // Another threshold and a class filter: still a hit, and exactly what the model says uncached.
  for (auto [threshold, targets] : std::vector<std::pair<float, std::vector<std::string>>>{
           {0.6f, {}}, {0.2f, {"person"}}, {0.05f, {}}, {0.9f, {"tv", "Chair"}}}) {
    auto cached = pipeline_->DetectSync(Request(threshold, targets));
    ASSERT_TRUE(cached.ok());
    EXPECT_EQ(cached->cache, CacheStatus::kHit);
    auto uncached = pipeline_->DetectSync(Request(threshold, targets, /*use_cache=*/false));
    ASSERT_TRUE(uncached.ok());
    EXPECT_EQ(uncached->cache, CacheStatus::kBypass);
    ExpectSameDetections(*cached, *uncached);
  }
  // Only the uncached requests ran the model.
  EXPECT_EQ(Inferences(), after_miss + 4);
}

TEST_F(PipelineCacheTest, ConcurrentIdenticalRequestsRunOneInference) {
  const uint64_t before = Inferences();
  std::vector<std::future<StatusOr<DetectionResult>>> results;
  for (int i = 0; i < 6; ++i) {
    auto promise = std::make_shared<std::promise<StatusOr<DetectionResult>>>();
    results.push_back(promise->get_future());
    pipeline_->Detect(Request(0.4f),
                      [promise](StatusOr<DetectionResult> r) { promise->set_value(std::move(r)); });
  }
  int misses = 0;
  for (auto& f : results) {
    auto r = f.get();
    ASSERT_TRUE(r.ok()) << r.status().message();
    misses += r->cache == CacheStatus::kMiss;
  }
  EXPECT_EQ(misses, 1);
  EXPECT_EQ(Inferences(), before + 1);
}

TEST_F(PipelineCacheTest, ADecodeFailureIsNotCachedAndDoesNotStrandOthers) {
  DetectionRequest broken = Request(0.4f);
  broken.encoded.resize(300);
  std::vector<std::future<StatusOr<DetectionResult>>> results;
  for (int i = 0; i < 3; ++i) {
    auto promise = std::make_shared<std::promise<StatusOr<DetectionResult>>>();
    results.push_back(promise->get_future());
    DetectionRequest copy = broken;
    pipeline_->Detect(std::move(copy),
                      [promise](StatusOr<DetectionResult> r) { promise->set_value(std::move(r)); });
  }
  for (auto& f : results) {
    ASSERT_EQ(f.wait_for(std::chrono::seconds(20)), std::future_status::ready);
    EXPECT_EQ(f.get().status().code(), StatusCode::kInvalidArgument);
  }
  EXPECT_EQ(cache_.health().memory.entries, 0u);
}

}  // namespace
}  // namespace accel
