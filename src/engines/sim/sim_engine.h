// sim engine: a simulated accelerator for tests, demos and benchmarks. It runs no model: a batch of n takes
// ms + per_item_ms * n (slept on the engine's worker thread: wall time, not CPU) and returns all-zero
// outputs of the model's output shape. Faults can be injected. Every device it creates is marked simulated
// (DeviceInfo::simulated). Built on SyncEngine (engines/sync_engine.h), which owns its queue and threads.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engines/engine.h"

namespace accel {

// One `--sim-device` spec: "name=hailo-a,kind=hailo,ms=4,per_item_ms=0.5,max_batch=8,in_flight=2,
// fail_after=N,fail_rate=P,hang_after=N,recover_after_ms=T".
struct SimDeviceSpec {
  std::string name;
  std::string kind = "sim";  // the engine kind it poses as for placement ("hailo", "nvidia", "sim")
  double ms = 5;
  double per_item_ms = 0;
  int max_batch = 1;
  // Batches the device accepts at once. It still runs one at a time: a batch accepted while another runs
  // starts when that one ends, so with 2 the device never idles between batches (how Hailo's async API and
  // CUDA streams are driven). Default 1, a device that takes a batch only when idle: work the device has
  // accepted can no longer be dropped when its deadline passes, so 1 keeps deadlines exact in tests.
  int in_flight = 1;
  long fail_after = -1;          // every call after the Nth fails (-1: never)
  double fail_rate = 0;          // probability that a call fails
  long hang_after = -1;          // calls after the Nth never complete (-1: never)
  double recover_after_ms = -1;  // a failed or hung device recovers this long after its first fault
};

StatusOr<SimDeviceSpec> ParseSimDeviceSpec(std::string_view text);

// A factory whose Probe() lists one device per spec.
StatusOr<std::unique_ptr<EngineFactory>> MakeSimEngineFactory(const std::vector<std::string>& specs);

// The device a spec describes: id "sim:<name>", kind = spec.kind, simulated = true, name
// "Simulated <kind> (<name>)", properties {"simulated": "true", ms, per_item_ms, max_batch, faults}.
DeviceInfo SimDeviceInfo(const SimDeviceSpec& spec);

// One simulated device, without going through a factory (tests and the scheduler benchmark).
std::unique_ptr<Engine> MakeSimEngine(const SimDeviceSpec& spec);

}  // namespace accel
