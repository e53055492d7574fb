// The in-process service the protocol tests put their front ends on: one engine, the default model, the
// detection pipeline, the ServiceContext and the KServe backend. Front ends (HTTP, gRPC, zmq) are the tests'
// own; stop them before this core is destroyed.
#pragma once

#include <memory>

#include "api/kserve_common.h"
#include "api/service_context.h"
#include "core/model_config.h"
#include "core/thread_pool.h"
#include "engines/engine.h"
#include "pipeline/detection_pipeline.h"
#include "scheduler/scheduler.h"

namespace accel {

// The cpu engine on this machine's CPU.
StatusOr<std::unique_ptr<Engine>> MakeTestCpuEngine();

struct ProtocolTestCore {
  Scheduler scheduler{SchedulerOptions{}};
  ThreadPool pool{2};
  std::unique_ptr<DetectionPipeline> pipeline;
  ServiceContext context;
  std::unique_ptr<KServeBackend> backend;
  ModelConfig model;  // models/yolox-nano/model.yaml

  // Adds `engine` to the scheduler, loads the default model on it, builds pipeline, context and backend.
  Status Start(std::unique_ptr<Engine> engine);
  ~ProtocolTestCore() { scheduler.Shutdown(); }
};

}  // namespace accel
