// The pipeline with a result cache and a classification model on a simulated device (zero logits: uniform
// after softmax, 0.25 each): a cached answer with targets equals the uncached one, although top_k counts only
// the classes in targets (the cache keeps every class, not the model's top_k).
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>

#include "cache/result_cache.h"
#include "core/thread_pool.h"
#include "engines/sim/sim_engine.h"
#include "pipeline/detection_pipeline.h"
#include "scheduler/scheduler.h"

namespace accel {
namespace {

TEST(ClassificationCache, TargetsOutsideTheTopKAreAnsweredFromTheCache) {
  Scheduler scheduler{SchedulerOptions{}};
  ThreadPool pool{2};
  ResultCache cache{ResultCache::Options{}};
  auto spec = ParseSimDeviceSpec("name=a,kind=sim,ms=1");
  ASSERT_TRUE(spec.ok());
  ASSERT_TRUE(scheduler.AddDevice(MakeSimEngine(*spec)).ok());
  auto model = ParseModelConfig(
      "name: classes\ninput: {width: 32, height: 32, letterbox: stretch}\n"
      "outputs: [{name: logits, shape: [4]}]\n"
      "decoder: {family: classification, activation: softmax, top_k: 2}\nlabels: [a, b, c, d]\n",
      "/tmp/m");
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  ASSERT_TRUE(scheduler.LoadModel(*model).ok());
  DetectionPipeline pipeline(&scheduler, &pool, "classes", ImageLimits{}, &cache);
  std::ifstream in(std::string(ACCEL_SHARED_DIR) + "/testdata/images/000000000139.jpg", std::ios::binary);
  const std::string image((std::istreambuf_iterator<char>(in)), {});
  auto request = [&](std::vector<std::string> targets, bool use_cache) {
    DetectionRequest r;
    r.encoded = image;
    r.accept_classification = true;
    r.filter.threshold = 0.1f;
    r.filter.targets = std::move(targets);
    r.use_cache = use_cache;
    return pipeline.DetectSync(std::move(r));
  };
  auto first = request({}, true);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->cache, CacheStatus::kMiss);
  ASSERT_EQ(first->classifications.size(), 2u);  // top_k of the model
  auto cached = request({"c", "d"}, true);
  ASSERT_TRUE(cached.ok());
  EXPECT_EQ(cached->cache, CacheStatus::kHit);
  auto uncached = request({"c", "d"}, false);
  ASSERT_TRUE(uncached.ok());
  ASSERT_EQ(uncached->classifications.size(), 2u);
  ASSERT_EQ(cached->classifications.size(), uncached->classifications.size());
  for (size_t i = 0; i < cached->classifications.size(); ++i) {
    EXPECT_EQ(cached->classifications[i].label, uncached->classifications[i].label);
    EXPECT_FLOAT_EQ(cached->classifications[i].confidence, uncached->classifications[i].confidence);
  }
  scheduler.Shutdown();
}

}  // namespace
}  // namespace accel
