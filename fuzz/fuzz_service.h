// What the harnesses whose requests go past parsing share: a minimal in-process service (scheduler, one
// simulated device that answers at once, detection pipeline, ServiceContext, KServeBackend) serving one
// small detection model, so that a request the fuzzer gets right runs the same code after parsing that a
// server runs (backend checks, image decoding, letterbox, scheduling, head decoding) at thousands of
// executions per second. No port, no file written.
//
// The model is "tiny": input "images" UINT8 [1,3,32,32] (NCHW, BGR), output "output" FP32 [21,85] (a YOLOX
// head on strides 8/16/32), COCO labels; as KServe, "tiny" takes raw tensors and "tiny-detect" an image.
#pragma once

#include "api/kserve_common.h"
#include "api/service_context.h"
#include "core/status.h"
#include "pipeline/detection_pipeline.h"

namespace accel::fuzz {

class FuzzService {
 public:
  // Built on first use and never destroyed (its threads run until the process exits). Aborts with a
  // message if it cannot be built: a harness without its service would fuzz nothing.
  static FuzzService& Get();

  ServiceContext& context() { return context_; }
  // Runs a detection through the pipeline and waits for it.
  StatusOr<DetectionResult> Detect(DetectionRequest request);
  // KServeBackend::Infer, waited for.
  StatusOr<KServeResponse> Infer(const KServeRequest& request);

 private:
  FuzzService();

  std::unique_ptr<Scheduler> scheduler_;
  std::unique_ptr<ThreadPool> pool_;
  std::unique_ptr<DetectionPipeline> pipeline_;
  ServiceContext context_;
  std::unique_ptr<KServeBackend> backend_;
};

}  // namespace accel::fuzz
