#include "protocol_test_core.h"

#include <string>
#include <vector>

#include "engines/cpu/cpu_engine.h"

namespace accel {

StatusOr<std::unique_ptr<Engine>> MakeTestCpuEngine() {
  auto factory = MakeCpuEngineFactory();
  auto probe = factory->Probe();
  if (probe.devices.empty()) return Unavailable("no cpu device: " + probe.unavailable_reason);
  // Pinned to OpenCV, as the integration tests pin CPU_RUNTIME (accel_testlib.py): `auto` would load and
  // time every runtime at each service start, and these suites test protocols, not the runtime choice.
  return factory->Create(probe.devices[0], EngineOptions{{{"runtime", "opencv"}}});
}

Status ProtocolTestCore::Start(std::unique_ptr<Engine> engine) {
  ServeConfig config;
  config.models_dir = std::string(ACCEL_SOURCE_DIR) + "/models";
  std::vector<std::unique_ptr<Engine>> engines;
  engines.push_back(std::move(engine));
  ACCEL_ASSIGN_OR_RETURN(service, Service::Create(config, std::move(engines)));
  auto loaded = service->scheduler().FindModel(config.default_model);
  if (!loaded) return NotFound("the default model was not loaded (run scripts/setup)");
  model = *loaded;
  return Status::Ok();
}

}  // namespace accel
