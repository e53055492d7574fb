#include "fuzz_service.h"

#include <cstdio>
#include <cstdlib>
#include <future>

#include "api/ai_api.h"
#include "core/logging.h"
#include "core/model_config.h"
#include "engines/sim/sim_engine.h"

namespace accel::fuzz {
namespace {

// Small enough that a raw tensor (3 KiB) or an image fits the fuzzer's input; the head's 21 anchors are what
// YOLOX has on a 32x32 input (16 + 4 + 1 cells on strides 8, 16, 32).
constexpr const char* kTinyModel = R"(
name: tiny
version: 1
task: detection
input: {name: images, width: 32, height: 32, channels: 3, layout: NCHW, color: BGR, dtype: uint8}
outputs:
  - {name: output, shape: [21, 85], dtype: float32}
decoder: {family: yolox, strides: [8, 16, 32]}
labels: coco80
max_batch: 2
max_queue_delay_us: 0
)";

[[noreturn]] void Fail(const char* what, const Status& status) {
  std::fprintf(stderr, "fuzz service: %s: %s\n", what, status.ToString().c_str());
  std::abort();
}

}  // namespace

FuzzService& FuzzService::Get() {
  // Leaked on purpose: destroying the scheduler at exit would race the harness's last callbacks for nothing.
  static FuzzService* service = new FuzzService();
  return *service;
}

FuzzService::FuzzService() {
  SetLogLevel(LogLevel::kError);  // a fuzzer logs nothing per input, or its output drowns in it
  scheduler_ = std::make_unique<Scheduler>(SchedulerOptions{});
  SimDeviceSpec spec;
  spec.name = "fuzz";
  spec.ms = 0;
  spec.max_batch = 2;
  spec.in_flight = 2;
  if (Status s = scheduler_->AddDevice(MakeSimEngine(spec)); !s.ok()) Fail("sim device", s);
  auto model = ParseModelConfig(kTinyModel, ".");
  if (!model.ok()) Fail("model config", model.status());
  if (Status s = scheduler_->LoadModel(*model); !s.ok()) Fail("model load", s);
  pool_ = std::make_unique<ThreadPool>(1);
  pipeline_ = std::make_unique<DetectionPipeline>(scheduler_.get(), pool_.get(), model->name, ImageLimits{});
  context_.scheduler = scheduler_.get();
  context_.pipeline = pipeline_.get();
  context_.version = "fuzz";
  context_.infer_options = MakeInferParseOptions(context_);
  backend_ = std::make_unique<KServeBackend>(context_, KServeBackend::Options{});
}

StatusOr<DetectionResult> FuzzService::Detect(DetectionRequest request) {
  return pipeline_->DetectSync(std::move(request));
}

StatusOr<KServeResponse> FuzzService::Infer(const KServeRequest& request) {
  std::promise<StatusOr<KServeResponse>> promise;
  auto future = promise.get_future();
  backend_->Infer(request, [&promise](StatusOr<KServeResponse> r) { promise.set_value(std::move(r)); });
  return future.get();
}

}  // namespace accel::fuzz
