// The pipeline with decoder families other than YOLOX, on a simulated device whose outputs are zeros: a
// DETR head of zeros is three queries at confidence sigmoid(0) = 0.5 with empty boxes, and a classifier of
// zero logits is uniform after softmax. Enough to follow the batched path and the classification path.
#include <gtest/gtest.h>

#include <fstream>
#include <future>
#include <iterator>
#include <string>
#include <vector>

#include "core/model_config.h"
#include "core/thread_pool.h"
#include "engines/sim/sim_engine.h"
#include "pipeline/detection_pipeline.h"
#include "scheduler/scheduler.h"

namespace accel {
namespace {

std::string TestImage() {
  std::ifstream in(std::string(ACCEL_SHARED_DIR) + "/testdata/images/000000000139.jpg", std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

ModelConfig Parse(const std::string& yaml) {
  auto model = ParseModelConfig(yaml, "/tmp/m");
  EXPECT_TRUE(model.ok()) << model.status().ToString();
  return model.ok() ? *model : ModelConfig{};
}

class FamiliesOnSimTest : public ::testing::Test {
 protected:
  void Start(const ModelConfig& model, const std::string& sim_spec) {
    auto spec = ParseSimDeviceSpec(sim_spec);
    ASSERT_TRUE(spec.ok()) << spec.status().message();
    ASSERT_TRUE(scheduler_.AddDevice(MakeSimEngine(*spec)).ok());
    ASSERT_TRUE(scheduler_.LoadModel(model).ok());
    pipeline_ = std::make_unique<DetectionPipeline>(&scheduler_, &pool_, model.name, ImageLimits{});
  }
  void TearDown() override { scheduler_.Shutdown(); }

  DetectionRequest Request(float threshold) {
    DetectionRequest r;
    r.encoded = TestImage();
    EXPECT_FALSE(r.encoded.empty());
    r.filter.threshold = threshold;
    return r;
  }

  Scheduler scheduler_{SchedulerOptions{}};
  ThreadPool pool_{2};
  std::unique_ptr<DetectionPipeline> pipeline_;
};

TEST_F(FamiliesOnSimTest, BatchedItemsAreDecodedOneByOne) {
  Start(Parse("name: detr\ninput: {width: 64, height: 64, letterbox: stretch}\n"
              "outputs: [{name: boxes, shape: [3, 4]}, {name: logits, shape: [3, 2]}]\n"
              "decoder: {family: detr}\nlabels: [thing, other]\nmax_batch: 4\nmax_queue_delay_us: 200000\n"),
        "name=a,kind=sim,ms=1,max_batch=4");
  std::vector<std::future<StatusOr<DetectionResult>>> results;
  for (int i = 0; i < 4; ++i) {
    auto promise = std::make_shared<std::promise<StatusOr<DetectionResult>>>();
    results.push_back(promise->get_future());
    pipeline_->Detect(Request(0.4f),
                      [promise](StatusOr<DetectionResult> r) { promise->set_value(std::move(r)); });
  }
  int largest_batch = 0;
  for (auto& f : results) {
    StatusOr<DetectionResult> r = f.get();
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    largest_batch = std::max(largest_batch, r->batch_size);
    ASSERT_EQ(r->detections.size(), 3u);  // each item its own three queries
    for (const Detection& d : r->detections) {
      EXPECT_EQ(d.label, "thing");
      EXPECT_FLOAT_EQ(d.confidence, 0.5f);
    }
  }
  EXPECT_GT(largest_batch, 1);  // the 200 ms window gathers the four requests
}

TEST_F(FamiliesOnSimTest, ClassificationOnlyWhereTheCallerTakesIt) {
  Start(Parse("name: classes\ninput: {width: 32, height: 32, letterbox: stretch}\n"
              "outputs: [{name: logits, shape: [4]}]\n"
              "decoder: {family: classification, activation: softmax, top_k: 2}\nlabels: [a, b, c, d]\n"),
        "name=a,kind=sim,ms=1");
  auto refused = pipeline_->DetectSync(Request(0.1f));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(refused.status().message().find("classification model"), std::string::npos);
  DetectionRequest request = Request(0.1f);
  request.accept_classification = true;
  auto result = pipeline_->DetectSync(std::move(request));
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(result->task, "classification");
  EXPECT_TRUE(result->detections.empty());
  ASSERT_EQ(result->classifications.size(), 2u);  // top_k
  EXPECT_EQ(result->classifications[0].label, "a");
  EXPECT_FLOAT_EQ(result->classifications[0].confidence, 0.25f);
  EXPECT_EQ(result->classifications[1].label, "b");
}

}  // namespace
}  // namespace accel
