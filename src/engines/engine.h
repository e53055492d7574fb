// The engine boundary. Everything above src/engines/ talks to these two interfaces and nothing else; no
// SDK type (OpenCV, libtorch, HailoRT) appears here.
//
//   EngineFactory  one per engine kind ("cpu", "nvidia", "hailo", "sim"): finds devices, creates engines.
//   Engine         one per physical device: loads models, runs batches asynchronously, reports health.
//
// Contract of Submit (after Triton's backend execute contract): an OK return means the engine has taken
// the batch and will call every item's `done` exactly once, from any thread, with that item's own result.
// An error return means the engine did not take it: no `done` is called and the scheduler still owns the
// batch, so it can send it elsewhere.
//
// Engines that run a batch synchronously (cpu, nvidia, sim) are built on SyncEngine (sync_engine.h), which
// implements this contract once; hailo, which completes through HailoRT's callbacks, implements it directly
// and shares the model table (model_table.h) and the counters (engine_counters.h).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/model_config.h"
#include "core/status.h"
#include "core/tensor.h"
#include "engines/engine_options.h"

namespace accel {

// Identity of one device as found by a probe. `properties` carries whatever the engine knows
// (memory_total_mb, temperature_c, firmware_version, pci_id, ...); values are strings or numbers as text.
struct DeviceInfo {
  std::string id;          // unique in the process: "cpu:0", "nvidia:0", "hailo:0000:01:00.0", "sim:hailo-a"
  std::string kind;        // engine kind that serves it
  std::string name;        // human-readable model name of the hardware ("AMD EPYC 7B13", "NVIDIA H100")
  bool simulated = false;  // true for the sim engine; shown as a simulation everywhere
  bool test_only = false;  // e.g. the nvidia engine in CPU mode: runs the code path, is not a GPU
  std::map<std::string, std::string> properties;
};

// What a factory found on this machine. When `devices` is empty, `unavailable_reason` says why
// ("not built: configure with ACCEL_WITH_HAILO=ON", "no /dev/hailo* device", "CUDA driver not found").
struct ProbeResult {
  std::vector<DeviceInfo> devices;
  std::string unavailable_reason;
};

struct EngineCapabilities {
  int max_batch = 1;      // largest batch Submit accepts (the model may restrict it further)
  int max_in_flight = 1;  // batches that may be submitted before earlier ones complete
  bool async = true;      // Submit returns before the work finishes
};

enum class HealthState { kReady, kDegraded, kFailed };
std::string_view HealthStateName(HealthState state);  // "ready", "degraded", "failed"

struct EngineHealth {
  HealthState state = HealthState::kReady;
  std::string reason;  // empty when ready
};

// Live figures an engine may expose (all optional: -1 means unknown). The three counters are kept by
// EngineCounters in every engine and count client work only (not warmups or probes).
struct EngineStats {
  uint64_t batches_executed = 0;  // batches that reached their end on the device, failed ones included
  uint64_t items_executed = 0;    // items that got outputs
  uint64_t failures = 0;          // batches the device or engine failed (not items failed for their input)
  double temperature_c = -1;
  double power_w = -1;
  double utilization_percent = -1;
  double memory_used_mb = -1;
  double memory_total_mb = -1;
  // Per loaded model, the runtime serving it and why, where an engine has a choice (cpu: "opencv: auto:
  // measured 14.1 ms vs libtorch 19.8 ms at load"). Empty elsewhere.
  std::map<std::string, std::string> model_runtimes;
};

// Result of one item: the model's output tensors for that item, each with the batch dimension of 1.
using ItemDone = std::function<void(StatusOr<TensorList> outputs)>;

struct BatchItem {
  // Shared so the scheduler can retry the same input on another device without copying it.
  // Shape: the model's per-item input shape with a leading batch dimension of 1.
  std::shared_ptr<const Tensor> input;
  ItemDone done;
};

struct Batch {
  std::string model;  // name of a model previously loaded on this engine
  std::vector<BatchItem> items;
};

class Engine {
 public:
  virtual ~Engine() = default;
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Immutable after creation; any thread.
  virtual const DeviceInfo& device() const = 0;
  virtual EngineCapabilities capabilities() const = 0;

  // Whether this device has an artifact it can run for the model. Any thread; no side effects.
  virtual bool Supports(const ModelConfig& model) const = 0;

  // Load/Unload/Warmup: called by the scheduler's control thread, never concurrently with each other;
  // may be called while batches of *other* models are in flight. Load blocks until the model is ready.
  virtual Status Load(const ModelConfig& model) = 0;
  virtual Status Unload(const std::string& model) = 0;
  // Runs one dummy batch of `batch_size` through the loaded model (first-call costs, shape checks).
  virtual Status Warmup(const std::string& model, int batch_size) = 0;

  // See the contract at the top of this file. Called from the device's worker thread only (one caller),
  // at most capabilities().max_in_flight batches outstanding. Items should match the model's input spec
  // (CheckItemInput, item_checks.h: an item that does not fails alone with INVALID_ARGUMENT). Each item's
  // outputs must match the model's outputs with a batch dimension of 1 (CheckItemOutputs): SyncEngine
  // checks them before they leave the engine and the scheduler checks every engine's.
  virtual Status Submit(Batch& batch) = 0;

  // Any thread, cheap (no device round-trip: engines cache what they read).
  virtual EngineHealth Health() const = 0;
  virtual EngineStats Stats() const = 0;

  // The shutdown rule, one for every engine:
  //   - work the engine holds but has not started on the device is failed at once with UNAVAILABLE;
  //   - work already running on the device completes and is delivered with its own result; work on a
  //     device that does not answer (hung; for hailo: still out after timeout_ms) is failed with
  //     UNAVAILABLE instead of waited for;
  //   - then the device and the models are released. Afterwards no `done` is called any more, Load, Warmup
  //     and Submit refuse with UNAVAILABLE and Health() reports FAILED ("shut down").
  // Idempotent. Control thread, never concurrently with itself and never from a `done` callback (it waits
  // for the engine's threads, which may be the caller).
  virtual void Shutdown() = 0;

 protected:
  Engine() = default;
};

class EngineFactory {
 public:
  virtual ~EngineFactory() = default;
  // "cpu", "nvidia", "hailo", "sim".
  virtual std::string kind() const = 0;
  // Finds devices of this kind. May take time (PCIe scan, driver init); called at start and by
  // `accel devices`. Thread-safe.
  virtual ProbeResult Probe() = 0;
  // The options Create accepts, with type, range, default and help (engine_options.h). `accel serve`
  // generates its flags --<kind>-<key> and variables <KIND>_<KEY> from them. Constant for the factory's
  // life and available without probing (no SDK or device is touched). Thread-safe.
  virtual std::vector<EngineOptionSpec> OptionSpecs() const { return {}; }
  // Creates the engine for one probed device. `options` are checked against OptionSpecs() first
  // (ValidateEngineOptions): a bad value is InvalidArgument naming "<kind>.<key>".
  virtual StatusOr<std::unique_ptr<Engine>> Create(const DeviceInfo& device,
                                                   const EngineOptions& options) = 0;
};

}  // namespace accel
