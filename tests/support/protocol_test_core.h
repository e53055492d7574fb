// The in-process service the protocol tests put their front ends on: the real Service (src/app/service.h)
// with exactly the engine a test gives it and the model repository of the checkout. Front ends (HTTP, gRPC,
// zmq) are the tests' own; stop them before this core is destroyed.
#pragma once

#include <memory>

#include "api/kserve_common.h"
#include "api/service_context.h"
#include "app/service.h"
#include "core/model_config.h"
#include "engines/engine.h"

namespace accel {

// The cpu engine on this machine's CPU, runtime opencv.
StatusOr<std::unique_ptr<Engine>> MakeTestCpuEngine();

struct ProtocolTestCore {
  std::unique_ptr<Service> service;
  ModelConfig model;  // the default model, yolox-nano

  // Builds the service on `engine` with the checkout's models/ (the default model loaded on it).
  Status Start(std::unique_ptr<Engine> engine);
  ServiceContext& context() { return service->context(); }
  KServeBackend& backend() { return service->kserve(); }
};

}  // namespace accel
