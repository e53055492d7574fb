// DetectionPipeline end to end on a simulated device: the real image decoding, letterbox, scheduler and
// head decoding, with an engine whose outputs and faults the test controls.
#include "pipeline/detection_pipeline.h"

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <iterator>
#include <string>

#include "core/model_config.h"
#include "core/thread_pool.h"
#include "engines/sim/sim_engine.h"
#include "scheduler/scheduler.h"

namespace accel {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

class PipelineOnSimTest : public ::testing::Test {
 protected:
  void Start(const std::string& sim_spec) {
    auto spec = ParseSimDeviceSpec(sim_spec);
    ASSERT_TRUE(spec.ok()) << spec.status().message();
    ASSERT_TRUE(scheduler_.AddDevice(MakeSimEngine(*spec)).ok());
    auto model = LoadModelConfig(std::string(ACCEL_SOURCE_DIR) + "/models/yolox-nano/model.yaml");
    ASSERT_TRUE(model.ok()) << model.status().message();
    model_ = *model;
    ASSERT_TRUE(scheduler_.LoadModel(model_).ok());
    pipeline_ = std::make_unique<DetectionPipeline>(&scheduler_, &pool_, model_.name, ImageLimits{});
  }
  void TearDown() override { scheduler_.Shutdown(); }

  DetectionRequest ImageRequest() {
    DetectionRequest r;
    r.encoded = ReadFile(std::string(ACCEL_SHARED_DIR) + "/testdata/images/000000000139.jpg");
    EXPECT_FALSE(r.encoded.empty());
    return r;
  }

  Scheduler scheduler_{SchedulerOptions{}};
  ThreadPool pool_{2};
  ModelConfig model_;
  std::unique_ptr<DetectionPipeline> pipeline_;
};

TEST_F(PipelineOnSimTest, RunsTheWholePathAndSaysItIsSimulated) {
  Start("name=a,kind=sim,ms=1");
  auto result = pipeline_->DetectSync(ImageRequest());
  ASSERT_TRUE(result.ok()) << result.status().message();
  EXPECT_EQ(result->model, "yolox-nano");
  EXPECT_TRUE(result->simulated);
  EXPECT_EQ(result->engine_kind, "sim");
  EXPECT_EQ(result->device_id, "sim:a");
  EXPECT_EQ(result->image_width, 640);
  EXPECT_EQ(result->image_height, 426);
  // The simulated head is all zeros: decoding it must find nothing, not invent boxes.
  EXPECT_TRUE(result->detections.empty());
  EXPECT_GE(result->inference_ms, 0.5);
  EXPECT_GE(result->total_ms, result->inference_ms);
}

TEST_F(PipelineOnSimTest, ClientErrorsAreTheirOwnCodes) {
  Start("name=a,kind=sim,ms=1");
  DetectionRequest corrupt = ImageRequest();
  corrupt.encoded.resize(200);
  EXPECT_EQ(pipeline_->DetectSync(std::move(corrupt)).status().code(), StatusCode::kInvalidArgument);

  DetectionRequest unknown = ImageRequest();
  unknown.model = "no-such-model";
  EXPECT_EQ(pipeline_->DetectSync(std::move(unknown)).status().code(), StatusCode::kNotFound);

  // Only a sim device exists: asking for a cpu one is "no device can serve", a 503, not a 400.
  DetectionRequest other_kind = ImageRequest();
  other_kind.engine = "cpu";
  EXPECT_EQ(pipeline_->DetectSync(std::move(other_kind)).status().code(), StatusCode::kUnavailable);

  DetectionRequest late = ImageRequest();
  late.deadline = std::chrono::steady_clock::now() - std::chrono::milliseconds(1);
  auto late_result = pipeline_->DetectSync(std::move(late));
  EXPECT_EQ(late_result.status().code(), StatusCode::kDeadlineExceeded) << late_result.status().ToString();
}

TEST_F(PipelineOnSimTest, DeviceFailureReachesTheCallerAsServerError) {
  Start("name=dead,kind=sim,ms=1,fail_after=0");
  auto result = pipeline_->DetectSync(ImageRequest());
  ASSERT_FALSE(result.ok());
  EXPECT_GE(static_cast<int>(HttpStatusFor(result.status().code())), 500) << result.status().ToString();
}

}  // namespace
}  // namespace accel
