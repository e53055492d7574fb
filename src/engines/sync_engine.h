// SyncEngine: the shared skeleton of every engine whose device runs a batch synchronously on the calling
// thread (cpu: OpenCV DNN, nvidia: libtorch, sim: a simulated latency). After Triton's backend thread model,
// where a backend writes no queue: a concrete engine implements LoadModel (read an artifact) and Run (one
// batch, blocking), and SyncEngine does the rest of the Engine contract once for all of them:
//
//   - the submission queue and `limits.workers` worker threads that call Run;
//   - max_in_flight: Submit refuses (RESOURCE_EXHAUSTED, batch left with the caller) beyond it;
//   - the loaded-model table (ModelTable), Load/Unload bookkeeping, and Warmup as a zero batch through Run;
//   - the per-item checks of engines/item_checks.h: an item whose input does not match the model fails
//     alone with INVALID_ARGUMENT before Run; a result whose outputs do not match fails with INTERNAL;
//   - the counters behind Stats() (EngineCounters; warmups are not counted);
//   - a sticky device failure (MarkFailed) and the shutdown rule of engine.h.
//
// Engines that complete through an SDK's own callbacks (hailo) implement Engine directly and share only
// ModelTable and EngineCounters.
#pragma once

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "engines/engine.h"
#include "engines/engine_counters.h"
#include "engines/model_table.h"

namespace accel {

// What an engine keeps for one loaded model; engines derive from it to add their runtime objects (a
// cv::dnn::Net, a TorchScript module). Built by LoadModel, then immutable except for what the engine
// marks `mutable` and guards itself.
class LoadedModel {
 public:
  explicit LoadedModel(const ModelConfig& config);
  virtual ~LoadedModel() = default;
  LoadedModel(const LoadedModel&) = delete;
  LoadedModel& operator=(const LoadedModel&) = delete;

  const ModelConfig& config() const { return config_; }
  // The shape of every item's input: [1, ...config().InputItemShape()].
  const std::vector<int64_t>& item_input_shape() const { return item_input_shape_; }

 private:
  const ModelConfig config_;
  const std::vector<int64_t> item_input_shape_;
};

// One batch as Run sees it.
struct SyncBatch {
  // One input per item, in order, each of the model's dtype and item_input_shape(); never empty, at most
  // limits.max_batch. Valid for the duration of the Run call.
  std::span<const Tensor* const> inputs;
  // When Submit (or Warmup) took the batch. A simulated device times its latency from here, so the wake-up
  // of the worker thread is not added to it.
  SteadyTime accepted{};
  // The calling worker thread, in [0, limits.workers): per-thread device state (a CUDA stream).
  int worker = 0;
  // A Warmup batch (also the scheduler's probe of an ejected device), not client work.
  bool warmup = false;
};

struct SyncEngineLimits {
  int max_batch = 1;  // largest batch Submit and Warmup accept: capabilities().max_batch
  int max_in_flight =
      1;            // client batches queued or running that Submit accepts: capabilities().max_in_flight
  int workers = 1;  // threads calling Run; Run runs concurrently on up to this many
};

class SyncEngine : public Engine {
 public:
  // Stops and joins the workers if the concrete engine has not (see Shutdown).
  ~SyncEngine() override;

  // Immutable; any thread.
  const DeviceInfo& device() const final { return info_; }
  // {limits.max_batch, limits.max_in_flight, async = true}. Any thread.
  EngineCapabilities capabilities() const final;

  // Load/Unload/Warmup: the control thread, never concurrently with each other (engine.h), while Submit
  // and the workers run. Load calls LoadModel on the calling thread and adds the model to the table,
  // replacing one of the same name; UNAVAILABLE once shut down or failed. Unload removes it from the
  // table: batches already queued keep their reference and run, and the model is released when the last
  // of them finishes.
  Status Load(const ModelConfig& model) final;
  Status Unload(const std::string& model) final;
  // Queues a batch of `batch_size` zero inputs (1..max_batch) through Run like client work, outside the
  // max_in_flight limit and the counters, and blocks the caller until it is done. May overlap Shutdown
  // (the scheduler's probe thread): it then fails with UNAVAILABLE. Overridable (torch runs it twice, sim
  // answers at once while faulty); overrides call this one to run the batch.
  Status Warmup(const std::string& model, int batch_size) override;

  // The device's worker thread (one caller; engine.h). Refuses, leaving the batch with the caller: an
  // empty batch or one over max_batch (INVALID_ARGUMENT), after Shutdown or MarkFailed (UNAVAILABLE), an
  // unknown model (NOT_FOUND), max_in_flight batches already queued or running (RESOURCE_EXHAUSTED).
  // Otherwise queues it and returns at once; a worker runs it and calls each item's `done` on that worker
  // thread, after the batch has stopped counting against max_in_flight (so `done` may Submit again);
  // a batch failed by Shutdown gets its `done` calls on the Shutdown caller's thread.
  Status Submit(Batch& batch) final;

  // Any thread, cheap. FAILED after Shutdown ("shut down") or MarkFailed (its reason), otherwise READY.
  // Overrides may add device state (sim: its injected fault) and call this one first.
  EngineHealth Health() const override;
  // Any thread. The counters, then AddTelemetry.
  EngineStats Stats() const final;

  // Control thread, not concurrently with itself and never from a `done` callback or Run. The shutdown
  // rule of engine.h: queued batches (warmups included) are failed with UNAVAILABLE at once; batches
  // already in Run complete and are delivered; then the workers are joined and the models released.
  // Idempotent. Every concrete SyncEngine must call it first thing in its destructor, so that no worker
  // is inside Run while the concrete engine's members are destroyed.
  void Shutdown() final;

 protected:
  SyncEngine(DeviceInfo info, SyncEngineLimits limits);

  // Reads the model's artifact for this device and returns what Run needs for it. Control thread (from
  // Load), possibly while workers run batches of other models. Errors are returned as they are from Load.
  virtual StatusOr<std::shared_ptr<const LoadedModel>> LoadModel(const ModelConfig& model) = 0;

  // Runs one batch of `model` (always an object this engine's LoadModel returned, so a static_cast to the
  // engine's own type is safe) and blocks until its outputs are on the host. Returns one TensorList per
  // input, in order, each with the batch dimension of 1; or one error for the whole batch, given to every
  // item. Worker threads only; concurrently on up to limits.workers threads, also for the same model.
  // Must not throw (SyncEngine turns an escaped exception into INTERNAL) and must not call Shutdown.
  // Work that can block without end (a hung device) waits with WaitForShutdown so Shutdown can end it.
  virtual StatusOr<std::vector<TensorList>> Run(const LoadedModel& model, const SyncBatch& batch) = 0;

  // Adds device readings (temperature, memory, utilisation) to `stats`. Any thread, concurrently; must be
  // cheap (cache what it reads).
  virtual void AddTelemetry(EngineStats& stats) const {}

  // Marks the device failed for the rest of this engine's life: Health reports `reason`, Load, Warmup and
  // Submit refuse with UNAVAILABLE, and batches still queued are failed with UNAVAILABLE instead of run.
  // Any thread (typically Run, on an error that leaves the device unusable). The first reason stays.
  void MarkFailed(const std::string& reason);

  // Blocks until Shutdown begins (returns true) or until `until` passes (returns false); without `until`,
  // until Shutdown. For Run, to wait on a device that may never answer. Any thread.
  bool WaitForShutdown(std::optional<SteadyTime> until) const;

 private:
  struct Job {
    std::shared_ptr<const LoadedModel> model;
    std::vector<BatchItem> items;
    SteadyTime accepted{};
    bool warmup = false;
  };

  void WorkerLoop(int worker);
  // Checks the items, calls Run (unless `refusal` is an error, which the valid items get instead) and the
  // output checks; one result per item, in order.
  std::vector<StatusOr<TensorList>> Execute(Job& job, int worker, const Status& refusal);
  Status RefusalLocked() const;  // UNAVAILABLE after Shutdown or MarkFailed, else OK. Needs mu_.

  const DeviceInfo info_;
  const SyncEngineLimits limits_;
  ModelTable<const LoadedModel> models_;
  EngineCounters counters_;

  mutable std::mutex mu_;                    // guards everything below
  std::condition_variable work_cv_;          // workers: a job was queued, or Shutdown
  mutable std::condition_variable stop_cv_;  // WaitForShutdown: Shutdown began
  std::deque<Job> queue_;
  int in_flight_ = 0;  // client batches queued or in Run (not warmups)
  bool stopping_ = false;
  bool failed_ = false;
  std::string failed_reason_;
  std::vector<std::thread> workers_;
};

}  // namespace accel
