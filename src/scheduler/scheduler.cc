#include "scheduler/scheduler.h"

#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <future>
#include <map>
#include <mutex>
#include <shared_mutex>
#include <thread>

#include "core/logging.h"
#include "scheduler/cost_model.h"
#include "scheduler/device_worker.h"
#include "scheduler/pending_request.h"

namespace accel {
namespace {

constexpr auto kHealthPollInterval = std::chrono::milliseconds(50);

}  // namespace

class Scheduler::Impl : public RequestRouter {
 public:
  Impl(SchedulerOptions options, Clock* clock) : options_(std::move(options)), clock_(clock) {
    options_.max_attempts = std::max(options_.max_attempts, 1);
    options_.queue_capacity = std::max(options_.queue_capacity, 1);
    if (options_.default_engine.empty()) options_.default_engine = "auto";
    prober_ = std::thread([this] { ProbeLoop(); });
  }

  ~Impl() override { Shutdown(); }

  Status AddDevice(std::unique_ptr<Engine> engine, DeviceOptions device) {
    if (!engine) return InvalidArgument("null engine");
    if (shutting_down_) return FailedPrecondition("scheduler is shut down");
    WorkerConfig config;
    config.device = device;
    config.health.eject_after = options_.eject_after_failures;
    config.health.backoff = options_.probe_backoff;
    config.health.backoff_max = options_.probe_backoff_max;
    config.execution_timeout = options_.execution_timeout;
    config.queue_capacity = options_.queue_capacity;
    config.prior_batch_ms = options_.prior_batch_ms;
    config.observer = options_.observer;
    auto worker = std::make_unique<DeviceWorker>(std::move(engine), config, clock_, this);
    std::unique_lock lock(mu_);
    for (const auto& w : workers_) {
      if (w->info().id == worker->info().id)
        return FailedPrecondition("device " + w->info().id + " added twice");
    }
    worker->Start();
    ACCEL_LOG(kInfo, "scheduler") << "device " << worker->info().id << " (" << worker->info().kind
                                  << (worker->info().simulated ? ", SIMULATED" : "") << ") added";
    workers_.push_back(std::move(worker));
    return Status::Ok();
  }

  Status LoadModel(const ModelConfig& model) {
    std::vector<DeviceWorker*> workers = Workers();
    int loaded = 0;
    std::string errors;
    for (DeviceWorker* w : workers) {
      if (!w->engine().Supports(model)) continue;
      Status s = w->AddModel(model);
      if (s.ok()) {
        ++loaded;
        ACCEL_LOG(kInfo, "scheduler") << "model " << model.name << " loaded on " << w->info().id;
      } else {
        ACCEL_LOG(kWarn, "scheduler")
            << "model " << model.name << " not loaded on " << w->info().id << ": " << s.ToString();
        errors += (errors.empty() ? "" : "; ") + s.ToString();
      }
    }
    if (loaded == 0) {
      return Unavailable("model '" + model.name + "' could not be loaded on any device" +
                         (errors.empty() ? std::string(" (no device supports it)") : ": " + errors));
    }
    std::unique_lock lock(mu_);
    models_[model.name] = std::make_shared<const ModelConfig>(model);
    return Status::Ok();
  }

  Status UnloadModel(const std::string& name) {
    {
      std::unique_lock lock(mu_);
      if (models_.erase(name) == 0) return NotFound("model '" + name + "' is not loaded");
    }
    for (DeviceWorker* w : Workers()) {
      if (w->HasModel(name)) (void)w->RemoveModel(name);
    }
    return Status::Ok();
  }

  void Submit(const InferenceOptions& options, std::shared_ptr<const Tensor> input, InferenceDone done) {
    if (shutting_down_) {
      done(Unavailable("scheduler is shutting down"));
      return;
    }
    std::shared_ptr<const ModelConfig> model = FindModel(options.model);
    if (!model) {
      done(NotFound("model '" + options.model + "' is not loaded"));
      return;
    }
    if (!input) {
      done(InvalidArgument("no input tensor"));
      return;
    }
    std::vector<int64_t> want = {1};
    for (int64_t d : model->InputItemShape()) want.push_back(d);
    if (input->shape() != want || input->dtype() != model->input.dtype) {
      done(InvalidArgument("input " + input->Describe() + " does not match model '" + model->name +
                           "' input " + std::string(DTypeName(model->input.dtype)) + ShapeToString(want)));
      return;
    }
    auto request = std::make_shared<PendingRequest>();
    request->engine = options.engine.empty() ? options_.default_engine : options.engine;
    request->deadline = options.deadline;
    request->model = std::move(model);
    request->input = std::move(input);
    request->done = std::move(done);
    request->submitted = clock_->Now();
    if (request->Expired(request->submitted)) {
      request->Finish(DeadlineExceeded("deadline passed before the request was placed"));
      return;
    }
    Status s = Route(request, /*force=*/false);
    if (!s.ok()) request->Finish(std::move(s));
  }

  // RequestRouter: an attempt failed on `device_id`.
  void Retry(RequestPtr request, const std::string& device_id, Status error) override {
    int attempts;
    {
      std::lock_guard rl(request->mu);
      request->failed_on.push_back(device_id);
      request->last_error = error;
      attempts = request->attempts;
    }
    if (request->finished()) return;
    if (shutting_down_) {
      request->Finish(Unavailable("scheduler is shutting down"));
      return;
    }
    if (attempts >= options_.max_attempts) {
      request->Finish(Unavailable("failed after " + std::to_string(attempts) + " attempt(s); last on " +
                                  device_id + ": " + error.ToString()));
      return;
    }
    if (request->Expired(clock_->Now())) {
      request->Finish(DeadlineExceeded("deadline passed after a failed attempt on " + device_id));
      return;
    }
    Status s = Route(request, /*force=*/true);
    if (!s.ok()) {
      request->Finish(Unavailable("no other device to retry on (" + s.message() + "); failed on " +
                                  device_id + ": " + error.ToString()));
    }
  }

  // RequestRouter: a device gave back a request it had not tried.
  void Requeue(RequestPtr request, const std::string& device_id) override {
    if (request->finished()) return;
    if (shutting_down_) {
      request->Finish(Unavailable("scheduler is shutting down"));
      return;
    }
    if (request->Expired(clock_->Now())) {
      request->Finish(DeadlineExceeded("deadline passed while queued on " + device_id));
      return;
    }
    Status s = Route(request, /*force=*/true);
    if (!s.ok()) request->Finish(std::move(s));
  }

  std::vector<DeviceStatus> Devices() const {
    std::vector<DeviceStatus> out;
    for (DeviceWorker* w : Workers()) out.push_back(w->Snapshot());
    return out;
  }

  std::vector<ModelStatus> Models() const {
    std::vector<std::string> names;
    {
      std::shared_lock lock(mu_);
      for (const auto& [name, m] : models_) names.push_back(name);
    }
    std::vector<DeviceWorker*> workers = Workers();
    std::vector<ModelStatus> out;
    for (const std::string& name : names) {
      ModelStatus m;
      m.name = name;
      for (DeviceWorker* w : workers) {
        if (!w->HasModel(name)) continue;
        m.devices.push_back(w->info().id);
        if (w->Eligible(name)) m.ready = true;
      }
      out.push_back(std::move(m));
    }
    return out;
  }

  std::shared_ptr<const ModelConfig> FindModel(const std::string& name) const {
    std::shared_lock lock(mu_);
    auto it = models_.find(name);
    return it == models_.end() ? nullptr : it->second;
  }

  void Shutdown(std::optional<Micros> in_flight_wait = std::nullopt) {
    if (shutting_down_.exchange(true)) {
      if (prober_.joinable()) prober_.join();
      return;
    }
    {
      std::lock_guard lock(probe_mu_);
      stop_probe_ = true;
    }
    probe_cv_.notify_all();
    if (prober_.joinable()) prober_.join();
    for (DeviceWorker* w : Workers()) w->Stop(in_flight_wait.value_or(options_.execution_timeout));
  }

 private:
  std::vector<DeviceWorker*> Workers() const {
    std::shared_lock lock(mu_);
    std::vector<DeviceWorker*> out;
    for (const auto& w : workers_) out.push_back(w.get());
    return out;
  }

  // Position in device_priority (ids or kinds); unlisted devices come after all listed ones.
  size_t Rank(const DeviceInfo& info) const {
    for (size_t i = 0; i < options_.device_priority.size(); ++i) {
      const std::string& p = options_.device_priority[i];
      if (p == info.id || p == info.kind) return i;
    }
    return options_.device_priority.size();
  }

  static bool KindMatches(const std::string& kind, const DeviceInfo& info) {
    return kind == "auto" || kind == info.kind || (kind == "sim" && info.simulated);
  }

  std::vector<DeviceWorker*> Candidates(const PendingRequest& request, const std::string& kind,
                                        const std::vector<std::string>& failed_on) const {
    std::vector<DeviceWorker*> out;
    for (const auto& w : workers_) {
      if (!KindMatches(kind, w->info())) continue;
      if (std::find(failed_on.begin(), failed_on.end(), w->info().id) != failed_on.end()) continue;
      if (w->Eligible(request.model->name)) out.push_back(w.get());
    }
    return out;
  }

  // Places the request on a device queue. `force` (retries, requeues) ignores queue capacity: that work
  // was already accepted once.
  Status Route(const RequestPtr& request, bool force) {
    std::vector<std::string> failed_on;
    {
      std::lock_guard rl(request->mu);
      failed_on = request->failed_on;
    }
    const std::string& model = request->model->name;
    std::shared_lock lock(mu_);
    std::vector<DeviceWorker*> candidates = Candidates(*request, request->engine, failed_on);
    std::string used_kind = request->engine;
    if (candidates.empty() && request->engine != "auto" && !options_.fallback_engine.empty() &&
        options_.fallback_engine != request->engine) {
      used_kind = options_.fallback_engine;
      candidates = Candidates(*request, used_kind, failed_on);
    }
    if (candidates.empty()) {
      return Unavailable(
          "no ready device for model '" + model + "'" +
          (request->engine == "auto" ? std::string() : " on engine '" + request->engine + "'") +
          (options_.fallback_engine.empty() || request->engine == "auto"
               ? std::string()
               : " nor on fallback '" + options_.fallback_engine + "'"));
    }
    std::vector<DeviceWorker*> order;
    if (options_.round_robin) {
      const size_t start = rr_next_.fetch_add(1) % candidates.size();
      for (size_t i = 0; i < candidates.size(); ++i)
        order.push_back(candidates[(start + i) % candidates.size()]);
    } else if (!options_.load_balancing) {
      // The single best device: first by priority, then the fastest per item; no spill-over.
      std::vector<std::pair<std::pair<size_t, double>, DeviceWorker*>> ranked;
      for (DeviceWorker* w : candidates) ranked.push_back({{Rank(w->info()), w->ItemMs(model)}, w});
      std::stable_sort(ranked.begin(), ranked.end(),
                       [](const auto& a, const auto& b) { return a.first < b.first; });
      order.push_back(ranked.front().second);
    } else {
      const SteadyTime now = clock_->Now();
      std::vector<std::pair<std::pair<double, size_t>, DeviceWorker*>> ranked;
      for (DeviceWorker* w : candidates) {
        // Expected finish rounded to 10 us so that near-equal estimates fall to the priority order.
        const double ms = ExpectedFinishMs(w->Backlog(model), now);
        ranked.push_back({{std::round(ms * 100) / 100, Rank(w->info())}, w});
      }
      std::stable_sort(ranked.begin(), ranked.end(),
                       [](const auto& a, const auto& b) { return a.first < b.first; });
      for (auto& r : ranked) order.push_back(r.second);
    }
    for (DeviceWorker* w : order) {
      if (w->Enqueue(request, force)) return Status::Ok();
    }
    return ResourceExhausted("every eligible queue for model '" + model + "' is full (" +
                             std::to_string(order.size()) + " device(s), " +
                             std::to_string(options_.queue_capacity) + " each); retry shortly");
  }

  // The probe thread: polls every device's engine health (engines do not push it; a device whose engine
  // reports itself failed is ejected) and probes ejected devices when their back-off has passed. Not on
  // the request path: request threads and device workers never wait for it.
  void ProbeLoop() {
    std::unique_lock lock(probe_mu_);
    while (!stop_probe_) {
      lock.unlock();
      std::optional<SteadyTime> next;
      for (DeviceWorker* w : Workers()) {
        std::optional<SteadyTime> t = w->CheckHealth(clock_->Now());
        if (t) next = next ? std::min(*next, *t) : *t;
      }
      lock.lock();
      // At most kHealthPollInterval between polls, sooner when a probe is due (a FakeClock does not wake
      // us either, so tests see their probes within one interval).
      auto d = std::chrono::steady_clock::duration(kHealthPollInterval);
      if (next) d = std::min<std::chrono::steady_clock::duration>(d, *next - clock_->Now());
      if (d > std::chrono::steady_clock::duration::zero()) probe_cv_.wait_for(lock, d);
    }
  }

  SchedulerOptions options_;
  Clock* const clock_;
  mutable std::shared_mutex mu_;  // guards workers_ (the list, not the workers) and models_
  std::vector<std::unique_ptr<DeviceWorker>> workers_;
  std::map<std::string, std::shared_ptr<const ModelConfig>> models_;
  std::atomic<uint64_t> rr_next_{0};
  std::atomic<bool> shutting_down_{false};
  std::mutex probe_mu_;
  std::condition_variable probe_cv_;
  bool stop_probe_ = false;
  std::thread prober_;
};

Scheduler::Scheduler(SchedulerOptions options, Clock* clock)
    : impl_(std::make_unique<Impl>(std::move(options), clock)) {}

Scheduler::~Scheduler() { impl_->Shutdown(); }

Status Scheduler::AddDevice(std::unique_ptr<Engine> engine, DeviceOptions options) {
  return impl_->AddDevice(std::move(engine), options);
}
Status Scheduler::LoadModel(const ModelConfig& model) { return impl_->LoadModel(model); }
Status Scheduler::UnloadModel(const std::string& name) { return impl_->UnloadModel(name); }

void Scheduler::Submit(const InferenceOptions& options, std::shared_ptr<const Tensor> input,
                       InferenceDone done) {
  impl_->Submit(options, std::move(input), std::move(done));
}

StatusOr<InferenceResult> Scheduler::Run(const InferenceOptions& options,
                                         std::shared_ptr<const Tensor> input) {
  auto promise = std::make_shared<std::promise<StatusOr<InferenceResult>>>();
  auto future = promise->get_future();
  Submit(options, std::move(input),
         [promise](StatusOr<InferenceResult> result) { promise->set_value(std::move(result)); });
  return future.get();
}

std::vector<DeviceStatus> Scheduler::Devices() const { return impl_->Devices(); }
std::vector<ModelStatus> Scheduler::Models() const { return impl_->Models(); }
std::shared_ptr<const ModelConfig> Scheduler::FindModel(const std::string& name) const {
  return impl_->FindModel(name);
}
void Scheduler::Shutdown(std::optional<Micros> in_flight_wait) { impl_->Shutdown(in_flight_wait); }

}  // namespace accel
