// DeviceWorker: one physical device in the scheduler. Owns the engine, a bounded queue, the dynamic batcher
// (BatchPolicy), the execution-timeout watch, the learnt service times (ServiceEstimate per model) and the
// device's health (DeviceHealth). Requests it cannot complete go back to the RequestRouter, which places
// them on another device or finishes them.
//
// Threading: one worker thread per device forms batches and calls Engine::Submit (the engine's single
// submitter). Engine callbacks (item done) arrive on engine threads. The router calls Enqueue, Eligible and
// Load from request threads; the probe thread calls ProbeIfDue; AddModel, RemoveModel and Stop are control
// calls. All of them may run concurrently; state is guarded by one mutex per worker, and the worker never
// calls the router or the engine while holding it.
#pragma once

#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "engines/engine.h"
#include "engines/item_checks.h"  // CheckItemOutputs: every item is checked before it reaches a client
#include "scheduler/batch_policy.h"
#include "scheduler/cost_model.h"
#include "scheduler/device_health.h"
#include "scheduler/pending_request.h"
#include "scheduler/scheduler.h"

namespace accel {

class RequestRouter {
 public:
  virtual ~RequestRouter() = default;
  // An attempt on `device_id` failed with `error`: place the request on another device or finish it.
  virtual void Retry(RequestPtr request, const std::string& device_id, Status error) = 0;
  // The device gave the request back without trying it (ejected or stopping): place it again.
  virtual void Requeue(RequestPtr request, const std::string& device_id) = 0;
};

struct WorkerConfig {
  DeviceOptions device;
  HealthPolicy health;
  Micros execution_timeout{2'000'000};
  int queue_capacity = 64;
  double prior_batch_ms = 10.0;
  SchedulerObserver observer;
};

class DeviceWorker {
 public:
  DeviceWorker(std::unique_ptr<Engine> engine, WorkerConfig config, Clock* clock, RequestRouter* router);
  ~DeviceWorker();
  DeviceWorker(const DeviceWorker&) = delete;
  DeviceWorker& operator=(const DeviceWorker&) = delete;

  void Start();
  // Gives queued work back as UNAVAILABLE, waits up to `drain` for in-flight batches, shuts the engine
  // down (which completes or fails whatever it still holds) and joins the thread. Idempotent.
  void Stop(Micros drain);

  const DeviceInfo& info() const { return engine_->device(); }
  Engine& engine() { return *engine_; }

  // Control: loads (and warms up) the model on the engine and sets its batch policy.
  Status AddModel(const ModelConfig& model);
  Status RemoveModel(const std::string& name);
  bool HasModel(const std::string& name) const;

  // Router side. Eligible: model loaded, not ejected, engine not failed, not stopping.
  bool Eligible(const std::string& model) const;
  DeviceLoad Load(const std::string& model, SteadyTime now) const;
  // Mean time per item for the model (the prior before samples). For priority ordering.
  double ItemMs(const std::string& model) const;
  // False when the queue is full (ignored when `force`), the device is ejected, or it is stopping.
  bool Enqueue(RequestPtr request, bool force);

  // Probe thread: probes the device when ejected and its back-off has passed. Returns the next time it
  // wants to be asked (nullopt when not ejected).
  std::optional<SteadyTime> ProbeIfDue(SteadyTime now);

  DeviceStatus Snapshot() const;

 private:
  struct ModelSlot {
    std::shared_ptr<const ModelConfig> config;
    BatchPolicy policy;
    ServiceEstimate estimate;
  };
  // One batch handed to the engine. Items settle once: by the engine's done or by the execution timeout,
  // whichever comes first; the other is ignored.
  struct InFlight {
    std::mutex mu;
    std::string model;
    std::shared_ptr<const ModelConfig> config;
    std::vector<RequestPtr> requests;
    std::vector<bool> settled;
    size_t remaining = 0;
    bool closed = false;  // timed out or not taken by the engine: late callbacks are ignored
    bool device_failed = false;
    std::string failure;
    SteadyTime start{};
  };

  void Loop();
  void Dispatch(const std::shared_ptr<InFlight>& batch);
  void OnItemDone(const std::shared_ptr<InFlight>& batch, size_t index, StatusOr<TensorList> result);
  void OnBatchDone(const std::shared_ptr<InFlight>& batch, SteadyTime now);
  // Ejects (if not already) and returns the queued requests for the router. Call with mu_ held.
  std::vector<RequestPtr> EjectLocked(const std::string& reason, SteadyTime now);
  void RemoveInFlightLocked(const std::shared_ptr<InFlight>& batch);

  std::unique_ptr<Engine> engine_;
  const WorkerConfig config_;
  Clock* const clock_;
  RequestRouter* const router_;
  const int max_in_flight_;

  std::mutex control_mu_;  // serialises Load/Unload/Warmup on the engine (its contract)

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, ModelSlot> models_;
  std::deque<RequestPtr> queue_;
  std::vector<std::shared_ptr<InFlight>> in_flight_;
  int in_flight_items_ = 0;
  DeviceHealth health_;
  uint64_t completed_ = 0;
  uint64_t failed_ = 0;
  bool started_ = false;
  bool stopping_ = false;
  bool stopped_ = false;
  std::thread thread_;
};

}  // namespace accel
