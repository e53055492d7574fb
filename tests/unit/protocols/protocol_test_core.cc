#include "protocol_test_core.h"

#include <string>

#include "engines/cpu/cpu_engine.h"

namespace accel {

StatusOr<std::unique_ptr<Engine>> MakeTestCpuEngine() {
  auto factory = MakeCpuEngineFactory();
  auto probe = factory->Probe();
  if (probe.devices.empty()) return Unavailable("no cpu device: " + probe.unavailable_reason);
  return factory->Create(probe.devices[0], EngineOptions{});
}

Status ProtocolTestCore::Start(std::unique_ptr<Engine> engine) {
  ACCEL_RETURN_IF_ERROR(scheduler.AddDevice(std::move(engine)));
  ACCEL_ASSIGN_OR_RETURN(model,
                         LoadModelConfig(std::string(ACCEL_SOURCE_DIR) + "/models/yolox-nano/model.yaml"));
  ACCEL_RETURN_IF_ERROR(scheduler.LoadModel(model));
  pipeline = std::make_unique<DetectionPipeline>(&scheduler, &pool, model.name, ImageLimits{});
  context.scheduler = &scheduler;
  context.pipeline = pipeline.get();
  context.version = "test";
  context.started = Clock::Real()->Now();
  backend = std::make_unique<KServeBackend>(context, KServeBackend::Options{});
  return Status::Ok();
}

}  // namespace accel
