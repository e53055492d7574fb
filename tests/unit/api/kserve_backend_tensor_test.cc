// KServeBackend's zero-copy hooks (KServeInput::tensor, KServeRequest::outputs_as_tensors) on a simulated
// device: same answers as the copying path, and the copying path whenever the hooks do not apply.
#include <gtest/gtest.h>

#include <future>

#include "api/kserve_common.h"
#include "core/model_config.h"
#include "engines/sim/sim_engine.h"
#include "scheduler/scheduler.h"

namespace accel {
namespace {

class KServeBackendTensorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto model = LoadModelConfig(std::string(ACCEL_SOURCE_DIR) + "/models/yolox-nano/model.yaml");
    ASSERT_TRUE(model.ok()) << model.status().ToString();
    model_ = *model;
    SimDeviceSpec spec;
    spec.name = "sim0";
    spec.ms = 1;
    ASSERT_TRUE(scheduler_.AddDevice(MakeSimEngine(spec)).ok());
    ASSERT_TRUE(scheduler_.LoadModel(model_).ok());
    ctx_.scheduler = &scheduler_;
    ctx_.version = "test";
    backend_ = std::make_unique<KServeBackend>(ctx_, KServeBackend::Options{});
  }
  void TearDown() override { scheduler_.Shutdown(); }

  StatusOr<KServeResponse> Infer(const KServeRequest& request) {
    std::promise<StatusOr<KServeResponse>> promise;
    backend_->Infer(request, [&promise](StatusOr<KServeResponse> r) { promise.set_value(std::move(r)); });
    return promise.get_future().get();
  }

  KServeRequest Request(std::shared_ptr<const Tensor> tensor, std::vector<int64_t> shape, bool as_tensors) {
    KServeRequest r;
    r.model = model_.name;
    r.outputs_as_tensors = as_tensors;
    KServeInput in;
    in.name = model_.input.name;
    in.datatype = "FP32";
    in.shape = std::move(shape);
    in.data = std::string_view(reinterpret_cast<const char*>(tensor->bytes()), tensor->byte_size());
    in.tensor = std::move(tensor);
    r.inputs.push_back(std::move(in));
    return r;
  }

  ModelConfig model_;
  Scheduler scheduler_{SchedulerOptions{}};
  ServiceContext ctx_;
  std::unique_ptr<KServeBackend> backend_;
};

TEST_F(KServeBackendTensorTest, OutputsAsTensorsCarryTheSameBytesWithoutData) {
  auto input = std::make_shared<Tensor>(DType::kFloat32, std::vector<int64_t>{1, 3, 416, 416}, "images");
  input->Fill(0);
  auto copied = Infer(Request(input, input->shape(), false));
  auto shared = Infer(Request(input, input->shape(), true));
  ASSERT_TRUE(copied.ok()) << copied.status().ToString();
  ASSERT_TRUE(shared.ok()) << shared.status().ToString();
  ASSERT_EQ(copied->outputs.size(), 1u);
  ASSERT_EQ(shared->outputs.size(), 1u);
  EXPECT_EQ(copied->outputs[0].tensor, nullptr);
  ASSERT_NE(shared->outputs[0].tensor, nullptr);
  EXPECT_TRUE(shared->outputs[0].data.empty());
  EXPECT_EQ(shared->outputs[0].shape, copied->outputs[0].shape);
  EXPECT_EQ(shared->outputs[0].datatype, copied->outputs[0].datatype);
  EXPECT_EQ(shared->outputs[0].bytes(), copied->outputs[0].bytes());
  EXPECT_EQ(shared->outputs[0].bytes().size(), size_t{3549} * 85 * 4);
}

TEST_F(KServeBackendTensorTest, RequestingAnOutputTwiceSharesOneTensor) {
  auto input = std::make_shared<Tensor>(DType::kFloat32, std::vector<int64_t>{1, 3, 416, 416}, "images");
  input->Fill(0);
  KServeRequest r = Request(input, input->shape(), true);
  r.requested_outputs = {model_.outputs[0].name, model_.outputs[0].name};
  auto response = Infer(r);
  ASSERT_TRUE(response.ok()) << response.status().ToString();
  ASSERT_EQ(response->outputs.size(), 2u);
  ASSERT_NE(response->outputs[0].tensor, nullptr);
  EXPECT_EQ(response->outputs[0].tensor, response->outputs[1].tensor);
}

TEST_F(KServeBackendTensorTest, MismatchedTensorIsIgnoredAndChecksStillApply) {
  // A tensor whose shape differs from the declared one: the backend validates the declared shape and data.
  auto flat = std::make_shared<Tensor>(DType::kFloat32, std::vector<int64_t>{3 * 416 * 416}, "images");
  flat->Fill(0);
  auto ok = Infer(Request(flat, {1, 3, 416, 416}, true));
  EXPECT_TRUE(ok.ok()) << ok.status().ToString();
  auto bad = Infer(Request(flat, {1, 3, 416, 415}, true));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace accel
