#include "engines/sync_engine.h"

#include <algorithm>
#include <exception>

#include "core/logging.h"
#include "engines/item_checks.h"

namespace accel {
namespace {

std::vector<int64_t> WithBatchOfOne(const std::vector<int64_t>& item_shape) {
  std::vector<int64_t> shape = {1};
  shape.insert(shape.end(), item_shape.begin(), item_shape.end());
  return shape;
}

}  // namespace

LoadedModel::LoadedModel(const ModelConfig& config)
    : config_(config), item_input_shape_(WithBatchOfOne(config.InputItemShape())) {}

SyncEngine::SyncEngine(DeviceInfo info, SyncEngineLimits limits)
    : info_(std::move(info)), limits_(limits), models_(info_.id) {
  const int workers = std::max(1, limits_.workers);
  workers_.reserve(workers);
  for (int i = 0; i < workers; ++i) workers_.emplace_back([this, i] { WorkerLoop(i); });
}

SyncEngine::~SyncEngine() { Shutdown(); }

EngineCapabilities SyncEngine::capabilities() const {
  EngineCapabilities caps;
  caps.max_batch = limits_.max_batch;
  caps.max_in_flight = limits_.max_in_flight;
  caps.async = true;
  return caps;
}

Status SyncEngine::RefusalLocked() const {
  if (stopping_) return Unavailable(info_.id + " is shut down");
  if (failed_) return Unavailable(info_.id + " failed: " + failed_reason_);
  return Status::Ok();
}

Status SyncEngine::Load(const ModelConfig& model) {
  {
    std::lock_guard lock(mu_);
    ACCEL_RETURN_IF_ERROR(RefusalLocked());
  }
  ACCEL_ASSIGN_OR_RETURN(std::shared_ptr<const LoadedModel> loaded, LoadModel(model));
  models_.Put(model.name, std::move(loaded));
  return Status::Ok();
}

Status SyncEngine::Unload(const std::string& model) {
  if (models_.Take(model) == nullptr) return models_.NotLoaded(model);
  return Status::Ok();
}

Status SyncEngine::Warmup(const std::string& model, int batch_size) {
  if (batch_size < 1 || batch_size > limits_.max_batch) {
    return InvalidArgument("warmup batch size " + std::to_string(batch_size) + " outside [1, " +
                           std::to_string(limits_.max_batch) + "] on " + info_.id);
  }
  {
    std::lock_guard lock(mu_);
    ACCEL_RETURN_IF_ERROR(RefusalLocked());  // before the lookup: Shutdown releases the models
  }
  std::shared_ptr<const LoadedModel> loaded = models_.Find(model);
  if (!loaded) return models_.NotLoaded(model);
  auto input = std::make_shared<Tensor>(loaded->config().input.dtype, loaded->item_input_shape());
  input->Fill(0);
  struct Waiter {
    std::mutex mu;
    std::condition_variable cv;
    int remaining = 0;
    Status first_error;
  };
  auto waiter = std::make_shared<Waiter>();
  waiter->remaining = batch_size;
  Job job;
  job.model = std::move(loaded);
  job.accepted = std::chrono::steady_clock::now();
  job.warmup = true;
  for (int i = 0; i < batch_size; ++i) {
    job.items.push_back(BatchItem{input, [waiter](StatusOr<TensorList> result) {
                                    std::lock_guard lock(waiter->mu);
                                    if (!result.ok() && waiter->first_error.ok())
                                      waiter->first_error = result.status();
                                    if (--waiter->remaining == 0) waiter->cv.notify_all();
                                  }});
  }
  {
    std::lock_guard lock(mu_);
    ACCEL_RETURN_IF_ERROR(RefusalLocked());
    queue_.push_back(std::move(job));
  }
  work_cv_.notify_one();
  std::unique_lock lock(waiter->mu);
  waiter->cv.wait(lock, [&] { return waiter->remaining == 0; });
  if (!waiter->first_error.ok()) return waiter->first_error.WithContext("warmup of " + model);
  return Status::Ok();
}

Status SyncEngine::Submit(Batch& batch) {
  if (batch.items.empty()) return InvalidArgument("empty batch");
  if (static_cast<int>(batch.items.size()) > limits_.max_batch) {
    return InvalidArgument("batch of " + std::to_string(batch.items.size()) + " exceeds max_batch " +
                           std::to_string(limits_.max_batch) + " of " + info_.id);
  }
  std::shared_ptr<const LoadedModel> model = models_.Find(batch.model);
  const SteadyTime accepted = std::chrono::steady_clock::now();
  {
    std::lock_guard lock(mu_);
    ACCEL_RETURN_IF_ERROR(RefusalLocked());
    if (!model) return models_.NotLoaded(batch.model);
    if (in_flight_ >= limits_.max_in_flight) {
      return ResourceExhausted(info_.id + " already has " + std::to_string(in_flight_) +
                               " batches in flight");
    }
    ++in_flight_;
    queue_.push_back(Job{std::move(model), std::move(batch.items), accepted, false});
  }
  batch.items.clear();  // moved from: leave the caller's batch in a known (empty) state
  work_cv_.notify_one();
  return Status::Ok();
}

EngineHealth SyncEngine::Health() const {
  std::lock_guard lock(mu_);
  if (failed_) return {HealthState::kFailed, failed_reason_};
  if (stopping_) return {HealthState::kFailed, "shut down"};
  return {};
}

EngineStats SyncEngine::Stats() const {
  EngineStats stats;
  counters_.Fill(stats);
  AddTelemetry(stats);
  return stats;
}

void SyncEngine::Shutdown() {
  std::deque<Job> dropped;
  {
    std::lock_guard lock(mu_);
    if (!stopping_) {
      stopping_ = true;
      dropped.swap(queue_);
      for (const Job& job : dropped) in_flight_ -= job.warmup ? 0 : 1;
    }
  }
  work_cv_.notify_all();
  stop_cv_.notify_all();
  const Status refused = Unavailable(info_.id + " shut down before running the batch");
  for (Job& job : dropped) {
    for (BatchItem& item : job.items) {
      if (item.done) item.done(refused);
    }
  }
  for (std::thread& worker : workers_) {
    if (worker.joinable()) worker.join();
  }
  dropped.clear();
  models_.TakeAll();  // released here, on the control thread, now that no batch holds them
}

void SyncEngine::MarkFailed(const std::string& reason) {
  std::lock_guard lock(mu_);
  if (failed_) return;
  failed_ = true;
  failed_reason_ = reason;
  ACCEL_LOG(kError, "engine") << info_.id << " failed and is left out until recreated: " << reason;
}

bool SyncEngine::WaitForShutdown(std::optional<SteadyTime> until) const {
  std::unique_lock lock(mu_);
  if (!until) {
    stop_cv_.wait(lock, [this] { return stopping_; });
    return true;
  }
  return stop_cv_.wait_until(lock, *until, [this] { return stopping_; });
}

void SyncEngine::WorkerLoop(int worker) {
  for (;;) {
    Job job;
    Status refusal;  // the device failed (MarkFailed) before this batch started: it is not run
    {
      std::unique_lock lock(mu_);
      work_cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping; Shutdown took what was queued
      job = std::move(queue_.front());
      queue_.pop_front();
      if (failed_) refusal = Unavailable(info_.id + " failed: " + failed_reason_);
    }
    std::vector<StatusOr<TensorList>> results = Execute(job, worker, refusal);
    if (!job.warmup) {
      std::lock_guard lock(mu_);
      --in_flight_;
    }
    for (size_t i = 0; i < job.items.size(); ++i) {
      if (job.items[i].done) job.items[i].done(std::move(results[i]));
    }
  }
}

std::vector<StatusOr<TensorList>> SyncEngine::Execute(Job& job, int worker, const Status& refusal) {
  const ModelConfig& config = job.model->config();
  std::vector<StatusOr<TensorList>> results;
  results.reserve(job.items.size());
  for (size_t i = 0; i < job.items.size(); ++i) results.emplace_back(Internal("not run"));
  std::vector<size_t> valid;
  std::vector<const Tensor*> inputs;
  valid.reserve(job.items.size());
  inputs.reserve(job.items.size());
  for (size_t i = 0; i < job.items.size(); ++i) {
    const Tensor* input = job.items[i].input.get();
    Status checked = CheckItemInput(config, input);
    if (checked.ok()) {
      valid.push_back(i);
      inputs.push_back(input);
    } else {
      results[i] = std::move(checked);
    }
  }
  if (valid.empty()) return results;
  if (!refusal.ok()) {
    for (size_t i : valid) results[i] = refusal;
    return results;
  }

  StatusOr<std::vector<TensorList>> outputs = Internal("not run");
  try {
    outputs = Run(*job.model, SyncBatch{inputs, job.accepted, worker, job.warmup});
  } catch (const std::exception& e) {
    outputs = Internal(info_.id + ": engine threw: " + e.what());
  } catch (...) {
    outputs = Internal(info_.id + ": engine threw a non-standard exception");
  }
  if (outputs.ok() && outputs->size() != valid.size()) {
    outputs = Internal(info_.id + " returned " + std::to_string(outputs->size()) +
                       " results for a batch of " + std::to_string(valid.size()));
  }
  bool failed = !outputs.ok();
  uint64_t items_ok = 0;
  for (size_t j = 0; j < valid.size(); ++j) {
    StatusOr<TensorList>& result = results[valid[j]];
    if (!outputs.ok()) {
      result = outputs.status();
      continue;
    }
    TensorList& item = (*outputs)[j];
    Status checked = CheckItemOutputs(config, item);
    if (checked.ok()) {
      result = std::move(item);
      ++items_ok;
    } else {
      result = std::move(checked);
      failed = true;
    }
  }
  if (!job.warmup) counters_.RecordBatch(items_ok, failed);
  return results;
}

}  // namespace accel
