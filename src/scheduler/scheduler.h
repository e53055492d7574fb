// Scheduler: turns many devices into one. Owns one DeviceWorker per engine (each with a bounded queue and a
// dynamic batcher), routes each request to the device where it is expected to finish first, ejects failing
// devices and probes them back, retries failed work elsewhere, and applies backpressure and deadlines.
//
// Threading: Submit and the read-only accessors may be called from any thread concurrently. AddDevice,
// LoadModel, UnloadModel and Shutdown are control operations (one caller at a time).
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/model_config.h"
#include "core/status.h"
#include "core/tensor.h"
#include "engines/engine.h"

namespace accel {

// Finished work, reported to whoever watches (the metrics). Callbacks run on worker or engine threads,
// concurrently; they must be cheap, thread-safe and must not call back into the scheduler.
struct BatchObservation {
  std::string_view model;
  const DeviceInfo* device;
  int batch_size = 0;
  double compute_ms = 0;
  bool ok = true;  // false when the device failed the batch
};
struct ItemObservation {
  std::string_view model;
  const DeviceInfo* device;
  double queue_ms = 0;    // submitted (this attempt) -> batch started
  double compute_ms = 0;  // batch started -> item done
};
struct SchedulerObserver {
  std::function<void(const BatchObservation&)> on_batch;  // once per executed batch
  std::function<void(const ItemObservation&)> on_item;    // once per successfully computed item
};

struct SchedulerOptions {
  // auto placement spreads load by expected finish time; false: everything to the single best device.
  bool load_balancing = true;
  // strict round robin over eligible devices (kept for comparison with the cost model).
  bool round_robin = false;
  // Used when an explicit engine kind has no ready device; empty: answer 503.
  std::string fallback_engine;
  // Engine asked for when a request names none (InferenceOptions::engine empty): DEFAULT_ENGINE.
  std::string default_engine = "auto";
  // Device ids or kinds in order of preference; earlier entries win ties and LOAD_BALANCING=false picks.
  std::vector<std::string> device_priority;
  int queue_capacity = 64;          // per device, requests
  int max_attempts = 3;             // one try plus retries on other devices
  int eject_after_failures = 3;     // consecutive failures that eject a device
  Micros probe_backoff{1'000'000};  // first back-off before probing an ejected device; doubles, capped
  Micros probe_backoff_max{30'000'000};
  Micros execution_timeout{2'000'000};  // a batch not done by then counts as failed and is retried
  double prior_batch_ms = 10.0;         // assumed batch time of a (model, device) before the first sample
  SchedulerObserver observer;           // optional
};

// Per-device settings that override the model's (HAILO_BATCH_SIZE etc.).
struct DeviceOptions {
  int max_batch = 0;            // 0: model's max_batch clipped to the engine's capability
  int max_queue_delay_us = -1;  // -1: model's value
};

struct InferenceOptions {
  std::string model;
  // "auto" or an engine kind ("cpu", "nvidia", "hailo", "sim"; "sim" also matches every simulated device
  // whatever kind it poses as). Empty: SchedulerOptions::default_engine.
  std::string engine = "auto";
  std::optional<SteadyTime> deadline;  // expired work is dropped before it reaches a device (504)
};

struct InferenceResult {
  TensorList outputs;
  std::string device_id;
  std::string engine_kind;
  bool simulated = false;
  double queue_ms = 0;    // submit -> handed to the engine (last attempt)
  double compute_ms = 0;  // handed to the engine -> done
  int batch_size = 1;
  int attempts = 1;
};

using InferenceDone = std::function<void(StatusOr<InferenceResult>)>;

struct DeviceStatus {
  DeviceInfo info;
  EngineHealth health;   // engine's own view
  bool ejected = false;  // scheduler's view: out of rotation until a probe passes
  std::string ejected_reason;
  SteadyTime ejected_at{};  // the latest ejection (meaningful when ejections > 0)
  uint64_t ejections = 0;   // times the device left rotation since it was added
  int queue_depth = 0;
  int in_flight = 0;
  std::vector<std::string> models;
  double ewma_item_ms = -1;  // for the first loaded model; -1 before any sample
  uint64_t completed = 0;
  uint64_t failed = 0;
  EngineStats stats;
  int consecutive_failures = 0;  // failed batches since the last success
};

struct ModelStatus {
  std::string name;
  std::vector<std::string> devices;  // device ids it is loaded on
  bool ready = false;                // at least one non-ejected device can serve it
};

class Scheduler {
 public:
  explicit Scheduler(SchedulerOptions options, Clock* clock = Clock::Real());
  ~Scheduler();
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // Takes ownership of the engine and starts its worker.
  Status AddDevice(std::unique_ptr<Engine> engine, DeviceOptions options = {});
  // Loads the model on every device whose engine Supports() it; fails only if no device could load it.
  // Per-device failures are logged and visible in DeviceStatus.
  Status LoadModel(const ModelConfig& model);
  Status UnloadModel(const std::string& name);

  // Asynchronous: `done` is called exactly once, from a worker or engine thread (or inline when the
  // request is rejected at once: unknown model 404, no device 503, queues full RESOURCE_EXHAUSTED).
  void Submit(const InferenceOptions& options, std::shared_ptr<const Tensor> input, InferenceDone done);
  // Blocking convenience for CLI and tests.
  StatusOr<InferenceResult> Run(const InferenceOptions& options, std::shared_ptr<const Tensor> input);

  std::vector<DeviceStatus> Devices() const;
  std::vector<ModelStatus> Models() const;
  std::shared_ptr<const ModelConfig> FindModel(const std::string& name) const;  // nullptr if not loaded

  // Fails queued work (UNAVAILABLE), waits for in-flight batches (up to `in_flight_wait`; by default the
  // execution timeout), shuts engines down. Idempotent. A graceful stop that already gave requests their
  // time (Service::Drain) waits 0.
  void Shutdown(std::optional<Micros> in_flight_wait = std::nullopt);

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace accel
