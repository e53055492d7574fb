// DeviceWorker: one physical device in the scheduler. Owns the engine, a bounded queue, the dynamic batcher
// (BatchPolicy), the execution-timeout watch, the learnt service times (ServiceEstimate per model) and the
// device's health (DeviceHealth). Requests it cannot complete go back to the RequestRouter, which places
// them on another device or finishes them.
//
// Threading:
// - One worker thread per device (Loop) forms batches and is the engine's only submitter (Engine::Submit).
//   It keeps up to the engine's max_in_flight batches in the engine (dispatch ahead), so that an engine
//   that queues batches starts the next one without waiting for this thread to wake. It sleeps on a
//   condition variable: woken by an arrival, by a finished batch while work is queued, by a control call,
//   or at the next timed event (a batch's execution timeout, a queued request's deadline, the end of a
//   batching window). It never polls.
// - Engine callbacks (item done) arrive on engine threads; the last item of a batch books it.
// - The router calls Enqueue, Eligible, Backlog and ItemMs from request threads; the probe thread calls
//   CheckHealth; AddModel, RemoveModel and Stop are control calls. All may run concurrently.
// - State is guarded by mu_. Nothing calls the engine (Health, Submit, Stats, Warmup...) or the router while
//   holding mu_: engine health that a decision under mu_ needs is read before mu_ is taken, and work for
//   the router is collected under mu_ and handed over after it is released (Handback).
//
// Ejection (after Envoy's ejectHost): every device failure, whatever detected it, goes through one function,
// RecordFailureLocked, which counts it, ejects the device when the failure calls for it, records why and
// when (DeviceStatus::ejected_reason, ejected_at, ejections) and hands the queued requests back to the
// router. The detectors: an engine error (items failed with a device error, or Submit refused the batch),
// the execution timeout (a batch not done in time: every in-flight batch is given up and its items retried
// elsewhere), and the health poll (the probe thread finds the engine reporting itself failed).
#pragma once

#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
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

// What detected a device failure. Named in the ejection reason ("execution timeout: ...").
enum class FailureSource {
  kEngineError,       // items came back with a device error, or Submit refused the batch
  kExecutionTimeout,  // a batch was not done within WorkerConfig::execution_timeout
  kHealthPoll,        // the engine reported itself failed when the probe thread asked
};
std::string_view FailureSourceName(FailureSource source);

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
  // The device's backlog for the model (queued and in-flight work, batch size, learnt service time), for
  // the cost model. Not a model load.
  DeviceLoad Backlog(const std::string& model) const;
  // Mean time per item for the model (the prior before samples). For priority ordering.
  double ItemMs(const std::string& model) const;
  // False when the queue is full (ignored when `force`), the device is ejected, or it is stopping.
  bool Enqueue(RequestPtr request, bool force);

  // Probe thread. In rotation: asks the engine for its health and ejects the device (through the one
  // ejection path) when the engine reports itself failed. Ejected: probes the device once its back-off has
  // passed. Returns the next time it wants to be asked (nullopt: no sooner than the caller's own poll).
  std::optional<SteadyTime> CheckHealth(SteadyTime now);

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
    // When the batch is taken to have begun running: when it was handed to the engine, moved to the end of
    // the batch before it when it was dispatched ahead. Service times, the execution timeout and the
    // reported compute time count from here. Written under mu_ and this->mu; read under either.
    SteadyTime start{};
  };
  // Work for the router and for clients, collected under mu_ and delivered after it is released.
  struct Handback {
    std::vector<std::pair<RequestPtr, Status>> finish;  // answered here (deadline, model gone, bad request)
    std::vector<std::pair<RequestPtr, Status>> retry;   // failed on this device: try another
    std::vector<RequestPtr> requeue;                    // never tried here: place again
    bool empty() const { return finish.empty() && retry.empty() && requeue.empty(); }
  };
  // A device failure as its detector saw it.
  struct Failure {
    FailureSource source;
    std::string reason;
    EngineHealth engine;  // read by the detector before taking mu_ (ready when it had no need to ask)
    SteadyTime at;
    size_t failed_items = 0;  // items the failure cost (zero for a health poll)
  };

  // The worker thread's loop and its steps, in order. Each step runs with mu_ held.
  void Loop();
  // Batches past the execution timeout: gives up every in-flight batch and ejects the device.
  void ExpireTimedOutLocked(SteadyTime now, Handback& out);
  // Queued requests whose deadline passed or whose model was unloaded never reach the engine.
  void DropUnservableLocked(SteadyTime now, Handback& out);
  // The next batch, when the engine has room (fewer than max_in_flight batches) and the batch policy says
  // go; else null, with `window_end` set when the policy waits for more items.
  std::shared_ptr<InFlight> TakeBatchLocked(SteadyTime now, std::optional<SteadyTime>& window_end);
  // Hands the batch to the engine (without mu_); a refusal is an engine error.
  void Dispatch(const std::shared_ptr<InFlight>& batch);
  // Earliest execution timeout or queued deadline.
  std::optional<SteadyTime> NextTimedEventLocked() const;
  // Waits on cv_ until notified or `until` (forever when nullopt). Used by the worker and by Stop.
  void SleepLocked(std::unique_lock<std::mutex>& lock, std::optional<SteadyTime> until);
  // Whether the sleeper must be woken after a finished batch (work is queued, or Stop drains); clears
  // sleeping_ if so, so that one notification serves. Call with mu_ held; notify after releasing it.
  bool WakeForFreedSlotLocked();

  void OnItemDone(const std::shared_ptr<InFlight>& batch, size_t index, StatusOr<TensorList> result);
  void OnBatchDone(const std::shared_ptr<InFlight>& batch, SteadyTime now);
  // The one ejection path; see the top of this file. Returns the queued requests for the router when this
  // failure ejected the device.
  std::vector<RequestPtr> RecordFailureLocked(const Failure& failure);
  // Returns false when the batch was no longer in flight (the execution timeout took it).
  bool RemoveInFlightLocked(const std::shared_ptr<InFlight>& batch);
  void Deliver(Handback& work);

  std::unique_ptr<Engine> engine_;
  const WorkerConfig config_;
  Clock* const clock_;
  RequestRouter* const router_;
  const int max_in_flight_;

  std::mutex control_mu_;  // serialises Load/Unload/Warmup on the engine (its contract)

  mutable std::mutex mu_;
  std::condition_variable cv_;  // one sleeper at a time: the worker thread, or Stop once it has joined it
  bool sleeping_ = false;       // someone waits on cv_ and no notification is on its way yet
  std::map<std::string, ModelSlot> models_;
  std::deque<RequestPtr> queue_;
  std::vector<std::shared_ptr<InFlight>> in_flight_;  // in the order handed to the engine
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
