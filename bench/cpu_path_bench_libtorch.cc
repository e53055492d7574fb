#include <memory>

#include "cpu_path_bench_runtimes.h"
#include "engines/nvidia/torch_engine.h"

namespace accel {

LibtorchCpuEngineMaker BenchLibtorchCpuEngineMaker() {
  std::shared_ptr<EngineFactory> torch = MakeTorchEngineFactory(true);
  return [torch](const EngineOptions& options) -> StatusOr<std::unique_ptr<Engine>> {
    for (const DeviceInfo& device : torch->Probe().devices)
      if (device.id == "nvidia-cpu:0") return torch->Create(device, options);
    return Unavailable("no nvidia-cpu:0 device");
  };
}

}  // namespace accel
