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

// Waits on cv until `until` by `clock`, in slices of at most 50 ms so that a FakeClock moved by a test is
// noticed too. Returns when notified, when the slice ends, or at `until`.
template <typename Lock>
void WaitUntil(std::condition_variable& cv, Lock& lock, Clock* clock, std::optional<SteadyTime> until) {
  constexpr auto kSlice = std::chrono::milliseconds(50);
  auto d = std::chrono::steady_clock::duration(kSlice);
  if (until) d = std::min<std::chrono::steady_clock::duration>(d, *until - clock->Now());
  if (d <= std::chrono::steady_clock::duration::zero()) return;
  cv.wait_for(lock, d);
}

}  // namespace

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
    queued.swap(queue_);
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  for (RequestPtr& r : queued) r->Finish(Unavailable("scheduler is shutting down"));
  {
    std::unique_lock lock(mu_);
    const SteadyTime until = clock_->Now() + drain;
    while (!in_flight_.empty() && clock_->Now() < until) WaitUntil(cv_, lock, clock_, until);
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
  }
  cv_.notify_all();  // queued items of the model are failed by the loop
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
  return engine_->Health().state != HealthState::kFailed;
}

DeviceLoad DeviceWorker::Load(const std::string& model, SteadyTime now) const {
  std::lock_guard lock(mu_);
  DeviceLoad load;
  load.queued = static_cast<int>(queue_.size());
  load.in_flight_items = in_flight_items_;
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
  {
    std::lock_guard lock(mu_);
    if (stopping_ || health_.ejected()) return false;
    if (!force && static_cast<int>(queue_.size()) >= config_.queue_capacity) return false;
    request->enqueued = clock_->Now();
    queue_.push_back(std::move(request));
  }
  cv_.notify_all();
  return true;
}

std::vector<RequestPtr> DeviceWorker::EjectLocked(const std::string& reason, SteadyTime now) {
  health_.Eject(reason, now);
  std::vector<RequestPtr> out(queue_.begin(), queue_.end());
  queue_.clear();
  return out;
}

void DeviceWorker::RemoveInFlightLocked(const std::shared_ptr<InFlight>& batch) {
  auto it = std::find(in_flight_.begin(), in_flight_.end(), batch);
  if (it == in_flight_.end()) return;
  in_flight_.erase(it);
  in_flight_items_ -= static_cast<int>(batch->requests.size());
}

void DeviceWorker::Loop() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    const SteadyTime now = clock_->Now();
    std::vector<RequestPtr> expired, unknown_model, requeue;
    std::vector<std::pair<RequestPtr, Status>> retry;

    // Batches past the execution timeout: their items go elsewhere and the device leaves rotation, because
    // with one batch at a time everything queued behind a hung batch would wait a full timeout per batch.
    for (size_t i = 0; i < in_flight_.size();) {
      std::shared_ptr<InFlight> b = in_flight_[i];
      if (now - b->start < config_.execution_timeout) {
        ++i;
        continue;
      }
      std::vector<RequestPtr> unsettled;
      {
        std::lock_guard bl(b->mu);
        b->closed = true;
        for (size_t k = 0; k < b->requests.size(); ++k) {
          if (!b->settled[k]) unsettled.push_back(b->requests[k]);
        }
      }
      RemoveInFlightLocked(b);
      const std::string reason = "execution timeout: batch of " + std::to_string(b->requests.size()) +
                                 " not done after " +
                                 std::to_string(config_.execution_timeout.count() / 1000) + " ms";
      failed_ += unsettled.size();
      const bool was_ejected = health_.ejected();
      for (RequestPtr& r : EjectLocked(reason, now)) requeue.push_back(std::move(r));
      if (!was_ejected) {
        ACCEL_LOG(kWarn, "scheduler") << "device " << info().id << " ejected: " << reason;
      }
      for (RequestPtr& r : unsettled)
        retry.emplace_back(std::move(r), DeadlineExceeded(reason + " on " + info().id));
    }

    // Expired deadlines, and requests whose model was unloaded while they waited, never reach the engine.
    for (auto it = queue_.begin(); it != queue_.end();) {
      if ((*it)->Expired(now)) {
        expired.push_back(std::move(*it));
        it = queue_.erase(it);
      } else if (models_.count((*it)->model->name) == 0) {
        unknown_model.push_back(std::move(*it));
        it = queue_.erase(it);
      } else {
        ++it;
      }
    }
    if (!expired.empty() || !unknown_model.empty() || !retry.empty() || !requeue.empty()) {
      lock.unlock();
      for (RequestPtr& r : expired)
        r->Finish(DeadlineExceeded("deadline passed while queued on " + info().id));
      for (RequestPtr& r : unknown_model) r->Finish(NotFound("model '" + r->model->name + "' was unloaded"));
      for (auto& [r, s] : retry) router_->Retry(r, info().id, s);
      for (RequestPtr& r : requeue) router_->Requeue(r, info().id);
      lock.lock();
      continue;
    }

    std::optional<SteadyTime> wake;
    auto earlier = [&wake](SteadyTime t) { wake = wake ? std::min(*wake, t) : t; };
    for (const auto& b : in_flight_) earlier(b->start + config_.execution_timeout);
    for (const RequestPtr& r : queue_) {
      if (r->deadline) earlier(*r->deadline);
    }

    if (!queue_.empty() && static_cast<int>(in_flight_.size()) < max_in_flight_ && !health_.ejected()) {
      const std::string model = queue_.front()->model->name;
      ModelSlot& slot = models_.at(model);
      int same = 0;
      for (const RequestPtr& r : queue_) same += r->model->name == model;
      const BatchDecision d = slot.policy.Decide(same, queue_.front()->enqueued, now);
      if (d.take > 0) {
        auto batch = std::make_shared<InFlight>();
        batch->model = model;
        batch->config = slot.config;
        for (auto it = queue_.begin();
             it != queue_.end() && static_cast<int>(batch->requests.size()) < d.take;) {
          if ((*it)->model->name == model) {
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
        lock.unlock();
        Dispatch(batch);
        lock.lock();
        continue;
      }
      if (!d.idle) earlier(d.wait_until);
    }
    WaitUntil(cv_, lock, clock_, wake);
  }
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
  const bool engine_failed = engine_->Health().state == HealthState::kFailed;
  std::vector<RequestPtr> requeue;
  {
    std::lock_guard lock(mu_);
    RemoveInFlightLocked(batch);
    if (!client_error) {
      failed_ += unsettled.size();
      const SteadyTime now = clock_->Now();
      const bool was_ejected = health_.ejected();
      const std::string reason = "submit refused: " + s.ToString();
      if (health_.RecordFailure(reason, now) || (engine_failed && !was_ejected)) {
        requeue = EjectLocked(engine_failed ? engine_->Health().reason : health_.reason(), now);
        ACCEL_LOG(kWarn, "scheduler") << "device " << info().id << " ejected: " << health_.reason();
      }
    }
  }
  cv_.notify_all();
  for (RequestPtr& r : unsettled) {
    if (client_error) {
      r->Finish(s);
    } else {
      router_->Retry(r, info().id, s);
    }
  }
  for (RequestPtr& r : requeue) router_->Requeue(r, info().id);
}

void DeviceWorker::OnItemDone(const std::shared_ptr<InFlight>& batch, size_t index,
                              StatusOr<TensorList> result) {
  {
    std::lock_guard bl(batch->mu);
    if (batch->closed || index >= batch->settled.size() || batch->settled[index]) return;
    batch->settled[index] = true;
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
    r.queue_ms = MillisBetween(request->submitted, batch->start);
    r.compute_ms = MillisBetween(batch->start, now);
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
  {
    std::lock_guard bl(batch->mu);
    device_failed = batch->device_failed;
    failure = batch->failure;
  }
  if (config_.observer.on_batch)
    config_.observer.on_batch(BatchObservation{batch->model, &info(),
                                               static_cast<int>(batch->requests.size()),
                                               MillisBetween(batch->start, now), !device_failed});
  // Read outside mu_: the engine's lock is never taken inside ours.
  const EngineHealth engine_health = device_failed ? engine_->Health() : EngineHealth{};
  std::vector<RequestPtr> requeue;
  {
    std::lock_guard lock(mu_);
    RemoveInFlightLocked(batch);
    const size_t n = batch->requests.size();
    if (device_failed) {
      failed_ += n;
      const bool was_ejected = health_.ejected();
      const bool counted_out = health_.RecordFailure(failure, now);
      if (!was_ejected && (counted_out || engine_health.state == HealthState::kFailed)) {
        requeue = EjectLocked(
            engine_health.state == HealthState::kFailed ? engine_health.reason : health_.reason(), now);
        ACCEL_LOG(kWarn, "scheduler") << "device " << info().id << " ejected: " << health_.reason();
      }
    } else {
      completed_ += n;
      health_.RecordSuccess();
      auto it = models_.find(batch->model);
      if (it != models_.end()) it->second.estimate.Add(static_cast<int>(n), MillisBetween(batch->start, now));
    }
  }
  cv_.notify_all();
  for (RequestPtr& r : requeue) router_->Requeue(r, info().id);
}

std::optional<SteadyTime> DeviceWorker::ProbeIfDue(SteadyTime now) {
  std::string model;
  {
    std::lock_guard lock(mu_);
    if (stopping_ || !health_.ejected()) return std::nullopt;
    if (!health_.ProbeDue(now)) return health_.next_probe();
    if (!models_.empty()) model = models_.begin()->first;
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
    cv_.notify_all();
    return std::nullopt;
  }
  ACCEL_LOG(kDebug, "scheduler") << "probe of " << info().id << " failed: " << probe.message() << "; next in "
                                 << health_.backoff().count() / 1000 << " ms";
  return health_.next_probe();
}

DeviceStatus DeviceWorker::Snapshot() const {
  DeviceStatus s;
  s.info = info();
  s.health = engine_->Health();
  s.stats = engine_->Stats();
  std::lock_guard lock(mu_);
  s.ejected = health_.ejected();
  s.ejected_reason = health_.reason();
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
