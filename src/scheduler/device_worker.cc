#include "scheduler/device_worker.h"

#include <algorithm>

#include "core/logging.h"

namespace accel {
namespace {

// Errors that say the request itself was bad: not the device's fault, not worth another device.
bool IsClientError(StatusCode code) {
  return code == StatusCode::kInvalidArgument || code == StatusCode::kPayloadTooLarge ||
         code == StatusCode::kUnsupportedMediaType;
}

// A clock other than the real one (a test's FakeClock) moves without waking anybody, so a timed wait on it
// is cut into slices of this length; the real clock is waited on until the time itself.
constexpr auto kFakeClockSlice = std::chrono::milliseconds(2);

void Earliest(std::optional<SteadyTime>& wake, SteadyTime t) { wake = wake ? std::min(*wake, t) : t; }

}  // namespace

std::string_view FailureSourceName(FailureSource source) {
  switch (source) {
    case FailureSource::kEngineError:
      return "engine error";
    case FailureSource::kExecutionTimeout:
      return "execution timeout";
    case FailureSource::kHealthPoll:
      return "health poll";
  }
  return "unknown";
}

DeviceWorker::DeviceWorker(std::unique_ptr<Engine> engine, WorkerConfig config, Clock* clock,
                           RequestRouter* router)
    : engine_(std::move(engine)),
      config_(std::move(config)),
      clock_(clock),
      router_(router),
      max_in_flight_(std::max(engine_->capabilities().max_in_flight, 1)),
      health_(config_.health) {}

DeviceWorker::~DeviceWorker() { Stop(Micros(0)); }

void DeviceWorker::Start() {
  std::lock_guard lock(mu_);
  if (started_) return;
  started_ = true;
  thread_ = std::thread([this] { Loop(); });
}

void DeviceWorker::Stop(Micros drain) {
  std::deque<RequestPtr> queued;
  {
    std::unique_lock lock(mu_);
    if (stopped_) return;
    stopping_ = true;
    sleeping_ = false;
    queued.swap(queue_);
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  for (RequestPtr& r : queued) r->Finish(Unavailable("scheduler is shutting down"));
  {
    std::unique_lock lock(mu_);
    const SteadyTime until = clock_->Now() + drain;
    while (!in_flight_.empty() && clock_->Now() < until) SleepLocked(lock, until);
  }
  engine_->Shutdown();
  std::lock_guard lock(mu_);
  stopped_ = true;
}

Status DeviceWorker::AddModel(const ModelConfig& model) {
  std::lock_guard control(control_mu_);
  if (!engine_->Supports(model))
    return Unimplemented(info().id + " has no artifact for '" + model.name + "'");
  ACCEL_RETURN_IF_ERROR(engine_->Load(model).WithContext("load on " + info().id));
  const EngineCapabilities caps = engine_->capabilities();
  int max_batch = config_.device.max_batch > 0 ? config_.device.max_batch : model.max_batch;
  max_batch = std::clamp(max_batch, 1, std::max(caps.max_batch, 1));
  const int delay_us =
      config_.device.max_queue_delay_us >= 0 ? config_.device.max_queue_delay_us : model.max_queue_delay_us;
  Status warm = engine_->Warmup(model.name, 1);
  if (!warm.ok()) {
    (void)engine_->Unload(model.name);
    return warm.WithContext("warmup on " + info().id);
  }
  std::lock_guard lock(mu_);
  ModelSlot slot{std::make_shared<const ModelConfig>(model), BatchPolicy(max_batch, Micros(delay_us)),
                 ServiceEstimate(config_.prior_batch_ms)};
  models_.insert_or_assign(model.name, std::move(slot));
  return Status::Ok();
}

Status DeviceWorker::RemoveModel(const std::string& name) {
  std::lock_guard control(control_mu_);
  {
    std::lock_guard lock(mu_);
    if (models_.erase(name) == 0) return NotFound("model '" + name + "' is not loaded on " + info().id);
    sleeping_ = false;
  }
  cv_.notify_all();  // queued items of the model are answered by the loop
  return engine_->Unload(name);
}

bool DeviceWorker::HasModel(const std::string& name) const {
  std::lock_guard lock(mu_);
  return models_.count(name) > 0;
}

bool DeviceWorker::Eligible(const std::string& model) const {
  {
    std::lock_guard lock(mu_);
    if (stopping_ || health_.ejected() || models_.count(model) == 0) return false;
  }
  // After mu_ is released (the engine is never called under it). A failed engine is left out at once; the
  // health poll then ejects it.
  return engine_->Health().state != HealthState::kFailed;
}

DeviceLoad DeviceWorker::Backlog(const std::string& model) const {
  std::lock_guard lock(mu_);
  DeviceLoad load;
  load.queued = static_cast<int>(queue_.size());
  load.in_flight_items = in_flight_items_;
  load.in_flight_batches = static_cast<int>(in_flight_.size());
  if (!in_flight_.empty()) {
    load.in_flight_since = in_flight_.front()->start;
    for (const auto& b : in_flight_) load.in_flight_since = std::min(load.in_flight_since, b->start);
  }
  auto it = models_.find(model);
  if (it != models_.end()) {
    load.max_batch = it->second.policy.max_batch();
    load.estimate = it->second.estimate;
  } else {
    load.estimate = ServiceEstimate(config_.prior_batch_ms);
  }
  return load;
}

double DeviceWorker::ItemMs(const std::string& model) const {
  std::lock_guard lock(mu_);
  auto it = models_.find(model);
  return it == models_.end() ? config_.prior_batch_ms : it->second.estimate.ItemMs();
}

bool DeviceWorker::Enqueue(RequestPtr request, bool force) {
  bool wake = false;
  {
    std::lock_guard lock(mu_);
    if (stopping_ || health_.ejected()) return false;
    if (!force && static_cast<int>(queue_.size()) >= config_.queue_capacity) return false;
    request->enqueued = clock_->Now();
    // Every arrival wakes a sleeping worker, even when the engine is full and it can only look and sleep
    // again. Waking it only when it could act was measured 2% slower (bench/README.md, "Scheduler
    // (in-process)"): on the 2-core VM the figures come from, fewer wake-ups let idle vCPUs halt, and the
    // threads that deliver completions (the sim's timers there) then woke later. Cheap when it is needless.
    wake = sleeping_;
    queue_.push_back(std::move(request));
  }
  if (wake) cv_.notify_one();
  return true;
}

std::vector<RequestPtr> DeviceWorker::RecordFailureLocked(const Failure& failure) {
  failed_ += failure.failed_items;
  std::string reason = std::string(FailureSourceName(failure.source)) + ": " + failure.reason;
  const bool engine_failed = failure.engine.state == HealthState::kFailed;
  if (engine_failed && failure.reason.find(failure.engine.reason) == std::string::npos)
    reason += " (engine reports failed: " + failure.engine.reason + ")";
  // A hung batch or an engine that says it failed ejects at once; other errors count towards eject_after.
  const bool eject_now = failure.source != FailureSource::kEngineError || engine_failed;
  if (!health_.RecordFailure(reason, failure.at, eject_now)) return {};
  ACCEL_LOG(kWarn, "scheduler") << "device " << info().id << " ejected: " << health_.reason();
  // Enqueue refuses work while the device is out, so this is everything it will give back.
  std::vector<RequestPtr> queued(std::make_move_iterator(queue_.begin()),
                                 std::make_move_iterator(queue_.end()));
  queue_.clear();
  return queued;
}

bool DeviceWorker::RemoveInFlightLocked(const std::shared_ptr<InFlight>& batch) {
  auto it = std::find(in_flight_.begin(), in_flight_.end(), batch);
  if (it == in_flight_.end()) return false;
  in_flight_.erase(it);
  in_flight_items_ -= static_cast<int>(batch->requests.size());
  return true;
}

void DeviceWorker::Deliver(Handback& work) {
  for (auto& [r, s] : work.finish) r->Finish(std::move(s));
  for (auto& [r, s] : work.retry) router_->Retry(r, info().id, std::move(s));
  for (RequestPtr& r : work.requeue) router_->Requeue(r, info().id);
}

void DeviceWorker::Loop() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    const SteadyTime now = clock_->Now();
    Handback handback;
    ExpireTimedOutLocked(now, handback);
    DropUnservableLocked(now, handback);
    if (!handback.empty()) {
      lock.unlock();
      Deliver(handback);
      lock.lock();
      continue;
    }
    std::optional<SteadyTime> window_end;
    if (std::shared_ptr<InFlight> batch = TakeBatchLocked(now, window_end)) {
      lock.unlock();
      Dispatch(batch);
      lock.lock();
      continue;  // the engine may have room for another batch: dispatch ahead
    }
    std::optional<SteadyTime> wake = NextTimedEventLocked();
    if (window_end) Earliest(wake, *window_end);
    SleepLocked(lock, wake);
  }
}

void DeviceWorker::ExpireTimedOutLocked(SteadyTime now, Handback& out) {
  auto overdue = std::find_if(in_flight_.begin(), in_flight_.end(), [&](const std::shared_ptr<InFlight>& b) {
    return now - b->start >= config_.execution_timeout;
  });
  if (overdue == in_flight_.end()) return;
  const std::string reason = "batch of " + std::to_string((*overdue)->requests.size()) + " not done after " +
                             std::to_string(config_.execution_timeout.count() / 1000) + " ms";
  // A device that hangs on one batch will not finish the ones queued behind it either: all of them are
  // given up, their unsettled items go elsewhere, and late callbacks are ignored. Otherwise everything
  // behind a hung batch would wait a full timeout per batch.
  size_t given_up = 0;
  for (const std::shared_ptr<InFlight>& b : in_flight_) {
    std::lock_guard bl(b->mu);
    b->closed = true;
    for (size_t k = 0; k < b->requests.size(); ++k) {
      if (b->settled[k]) continue;
      ++given_up;
      out.retry.emplace_back(b->requests[k],
                             DeadlineExceeded("execution timeout: " + reason + " on " + info().id));
    }
  }
  in_flight_.clear();
  in_flight_items_ = 0;
  out.requeue =
      RecordFailureLocked(Failure{FailureSource::kExecutionTimeout, reason, EngineHealth{}, now, given_up});
}

void DeviceWorker::DropUnservableLocked(SteadyTime now, Handback& out) {
  for (auto it = queue_.begin(); it != queue_.end();) {
    if ((*it)->Expired(now)) {
      out.finish.emplace_back(std::move(*it),
                              DeadlineExceeded("deadline passed while queued on " + info().id));
      it = queue_.erase(it);
    } else if (models_.count((*it)->model->name) == 0) {
      Status gone = NotFound("model '" + (*it)->model->name + "' was unloaded");
      out.finish.emplace_back(std::move(*it), std::move(gone));
      it = queue_.erase(it);
    } else {
      ++it;
    }
  }
}

std::shared_ptr<DeviceWorker::InFlight> DeviceWorker::TakeBatchLocked(SteadyTime now,
                                                                      std::optional<SteadyTime>& window_end) {
  if (queue_.empty() || static_cast<int>(in_flight_.size()) >= max_in_flight_ || health_.ejected())
    return nullptr;
  const std::string& model = queue_.front()->model->name;
  ModelSlot& slot = models_.at(model);
  int same = 0;
  for (const RequestPtr& r : queue_) same += r->model->name == model;
  const BatchDecision d = slot.policy.Decide(same, queue_.front()->enqueued, now);
  if (d.take == 0) {
    if (!d.idle) window_end = d.wait_until;
    return nullptr;
  }
  auto batch = std::make_shared<InFlight>();
  batch->model = model;
  batch->config = slot.config;
  for (auto it = queue_.begin(); it != queue_.end() && static_cast<int>(batch->requests.size()) < d.take;) {
    if ((*it)->model->name == batch->model) {
      batch->requests.push_back(std::move(*it));
      it = queue_.erase(it);
    } else {
      ++it;
    }
  }
  batch->settled.assign(batch->requests.size(), false);
  batch->remaining = batch->requests.size();
  batch->start = now;
  in_flight_.push_back(batch);
  in_flight_items_ += static_cast<int>(batch->requests.size());
  return batch;
}

std::optional<SteadyTime> DeviceWorker::NextTimedEventLocked() const {
  std::optional<SteadyTime> wake;
  for (const auto& b : in_flight_) Earliest(wake, b->start + config_.execution_timeout);
  for (const RequestPtr& r : queue_) {
    if (r->deadline) Earliest(wake, *r->deadline);
  }
  return wake;
}

void DeviceWorker::SleepLocked(std::unique_lock<std::mutex>& lock, std::optional<SteadyTime> until) {
  sleeping_ = true;
  if (!until) {
    cv_.wait(lock);
  } else if (clock_ == Clock::Real()) {
    cv_.wait_until(lock, *until);
  } else {
    cv_.wait_for(lock, kFakeClockSlice);
  }
  sleeping_ = false;
}

bool DeviceWorker::WakeForFreedSlotLocked() {
  if (!sleeping_ || (queue_.empty() && !stopping_)) return false;
  sleeping_ = false;
  return true;
}

void DeviceWorker::Dispatch(const std::shared_ptr<InFlight>& batch) {
  Batch b;
  b.model = batch->model;
  b.items.reserve(batch->requests.size());
  for (size_t i = 0; i < batch->requests.size(); ++i) {
    const RequestPtr& r = batch->requests[i];
    {
      std::lock_guard rl(r->mu);
      ++r->attempts;
    }
    BatchItem item;
    item.input = r->input;
    item.done = [this, batch, i](StatusOr<TensorList> result) { OnItemDone(batch, i, std::move(result)); };
    b.items.push_back(std::move(item));
  }
  Status s = engine_->Submit(b);
  if (s.ok()) return;
  // Not taken: the batch is still ours. Close it (in case the engine called some done before refusing),
  // count one device failure, and hand the items to the router.
  std::vector<RequestPtr> unsettled;
  {
    std::lock_guard bl(batch->mu);
    batch->closed = true;
    for (size_t k = 0; k < batch->requests.size(); ++k) {
      if (!batch->settled[k]) unsettled.push_back(batch->requests[k]);
    }
  }
  const bool client_error = IsClientError(s.code());
  const EngineHealth engine_health = client_error ? EngineHealth{} : engine_->Health();  // before mu_
  Handback handback;
  for (RequestPtr& r : unsettled) {
    if (client_error) {
      handback.finish.emplace_back(std::move(r), s);
    } else {
      handback.retry.emplace_back(std::move(r), s);
    }
  }
  {
    std::lock_guard lock(mu_);
    RemoveInFlightLocked(batch);
    if (!client_error) {
      handback.requeue =
          RecordFailureLocked(Failure{FailureSource::kEngineError, "submit refused: " + s.ToString(),
                                      engine_health, clock_->Now(), handback.retry.size()});
    }
  }
  // The caller is the worker thread, which looks at the queue again before it sleeps: no wake-up needed.
  Deliver(handback);
}

void DeviceWorker::OnItemDone(const std::shared_ptr<InFlight>& batch, size_t index,
                              StatusOr<TensorList> result) {
  SteadyTime start;
  {
    std::lock_guard bl(batch->mu);
    if (batch->closed || index >= batch->settled.size() || batch->settled[index]) return;
    batch->settled[index] = true;
    start = batch->start;
  }
  const SteadyTime now = clock_->Now();
  const RequestPtr& request = batch->requests[index];
  Status error = result.status();
  if (result.ok()) error = CheckItemOutputs(*batch->config, result.value());
  const bool device_error = !error.ok() && !IsClientError(error.code());
  bool last;
  {
    std::lock_guard bl(batch->mu);
    if (device_error) {
      if (!batch->device_failed) batch->failure = error.ToString();
      batch->device_failed = true;
    }
    last = --batch->remaining == 0;
  }
  // The last item frees the device before its client hears back, so the worker dispatches the next batch
  // while client callbacks run, and a failure is booked (maybe ejecting) before anyone retries.
  if (last) OnBatchDone(batch, now);
  if (error.ok()) {
    InferenceResult r;
    r.outputs = std::move(result).value();
    r.device_id = info().id;
    r.engine_kind = info().kind;
    r.simulated = info().simulated;
    r.queue_ms = MillisBetween(request->submitted, start);
    r.compute_ms = MillisBetween(start, now);
    r.batch_size = static_cast<int>(batch->requests.size());
    if (config_.observer.on_item)
      config_.observer.on_item(ItemObservation{batch->model, &info(), r.queue_ms, r.compute_ms});
    {
      std::lock_guard rl(request->mu);
      r.attempts = request->attempts;
    }
    request->Finish(std::move(r));
  } else if (!device_error) {
    request->Finish(error);
  } else {
    router_->Retry(request, info().id, error);
  }
}

void DeviceWorker::OnBatchDone(const std::shared_ptr<InFlight>& batch, SteadyTime now) {
  bool device_failed;
  std::string failure;
  SteadyTime start;
  {
    std::lock_guard bl(batch->mu);
    device_failed = batch->device_failed;
    failure = batch->failure;
    start = batch->start;
  }
  const size_t n = batch->requests.size();
  const double batch_ms = MillisBetween(start, now);
  if (config_.observer.on_batch)
    config_.observer.on_batch(
        BatchObservation{batch->model, &info(), static_cast<int>(n), batch_ms, !device_failed});
  const EngineHealth engine_health = device_failed ? engine_->Health() : EngineHealth{};  // before mu_
  Handback handback;
  bool wake;
  {
    std::lock_guard lock(mu_);
    if (RemoveInFlightLocked(batch)) {
      // The batch dispatched ahead of time starts running now, not when it was handed over.
      if (!in_flight_.empty()) {
        InFlight& next = *in_flight_.front();
        std::lock_guard nl(next.mu);
        next.start = std::max(next.start, now);
      }
      if (device_failed) {
        handback.requeue =
            RecordFailureLocked(Failure{FailureSource::kEngineError, failure, engine_health, now, n});
      } else {
        completed_ += n;
        health_.RecordSuccess();
        auto it = models_.find(batch->model);
        if (it != models_.end()) it->second.estimate.Add(static_cast<int>(n), batch_ms);
      }
    }
    wake = WakeForFreedSlotLocked();
  }
  if (wake) cv_.notify_one();
  Deliver(handback);
}

std::optional<SteadyTime> DeviceWorker::CheckHealth(SteadyTime now) {
  bool ejected;
  std::string model;
  {
    std::lock_guard lock(mu_);
    if (stopping_) return std::nullopt;
    ejected = health_.ejected();
    if (ejected && !health_.ProbeDue(now)) return health_.next_probe();
    if (!models_.empty()) model = models_.begin()->first;
  }
  if (!ejected) {
    // The health poll: an engine that reports itself failed leaves rotation through the one ejection path.
    const EngineHealth h = engine_->Health();  // before mu_
    if (h.state != HealthState::kFailed) return std::nullopt;
    Handback handback;
    std::optional<SteadyTime> next;
    {
      std::lock_guard lock(mu_);
      if (stopping_) return std::nullopt;
      handback.requeue = RecordFailureLocked(Failure{FailureSource::kHealthPoll, h.reason, h, now, 0});
      if (health_.ejected()) next = health_.next_probe();
    }
    Deliver(handback);
    return next;
  }
  Status probe = Status::Ok();
  {
    std::lock_guard control(control_mu_);
    if (!model.empty()) probe = engine_->Warmup(model, 1);
  }
  if (probe.ok()) {
    const EngineHealth h = engine_->Health();
    if (h.state == HealthState::kFailed) probe = Unavailable(h.reason);
  }
  std::lock_guard lock(mu_);
  const bool rejoined = health_.RecordProbe(probe.ok(), probe.message(), clock_->Now());
  if (rejoined) {
    ACCEL_LOG(kInfo, "scheduler") << "device " << info().id << " rejoined after a passed probe";
    return std::nullopt;
  }
  ACCEL_LOG(kDebug, "scheduler") << "probe of " << info().id << " failed: " << probe.message() << "; next in "
                                 << health_.backoff().count() / 1000 << " ms";
  return health_.next_probe();
}

DeviceStatus DeviceWorker::Snapshot() const {
  DeviceStatus s;
  s.info = info();
  s.health = engine_->Health();  // engine first, before mu_
  s.stats = engine_->Stats();
  std::lock_guard lock(mu_);
  s.ejected = health_.ejected();
  s.ejected_reason = health_.reason();
  s.ejected_at = health_.ejected_at();
  s.ejections = health_.ejections();
  s.queue_depth = static_cast<int>(queue_.size());
  s.in_flight = in_flight_items_;
  for (const auto& [name, slot] : models_) s.models.push_back(name);
  if (!models_.empty() && models_.begin()->second.estimate.has_samples())
    s.ewma_item_ms = models_.begin()->second.estimate.ItemMs();
  s.completed = completed_;
  s.failed = failed_;
  s.consecutive_failures = health_.consecutive_failures();
  return s;
}

}  // namespace accel
