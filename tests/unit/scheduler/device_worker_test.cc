// DeviceWorker on its own, with a scripted engine, a recording router and a FakeClock: the one ejection
// path (each detector ejects through it and records reason and time), the rule that engine health is never
// read under the worker's lock, and dispatch ahead (the engine holds the next batch when one finishes).
// The clock never moves unless a test moves it; real time is only used to wait for the worker thread.
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <functional>
#include <future>
#include <mutex>
#include <thread>

#include "scheduler/device_worker.h"
#include "scheduler/pending_request.h"

namespace accel {
namespace {

using std::chrono::milliseconds;

ModelConfig Model() {
  ModelConfig m;
  m.name = "m";
  m.input.width = 2;
  m.input.height = 2;
  m.input.channels = 1;
  m.outputs.push_back(OutputSpec{"out", {3}, DType::kFloat32});
  m.max_batch = 1;
  return m;
}

// Waits (real time, bounded) for something the worker thread does.
bool Eventually(const std::function<bool()>& done, milliseconds limit = milliseconds(3000)) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(milliseconds(1));
  }
  return true;
}

// Takes batches and holds them until the test completes them. Health is whatever the test sets. Every
// Health() call checks that the caller does not hold the worker's lock: a helper thread takes it (through
// HasModel) and must get it within 2 s.
class ScriptedEngine : public Engine {
 public:
  explicit ScriptedEngine(int max_in_flight) : max_in_flight_(max_in_flight) {
    info_.id = "fake:0";
    info_.kind = "fake";
    info_.simulated = true;
  }
  ~ScriptedEngine() override { JoinCheckers(); }

  const DeviceInfo& device() const override { return info_; }
  EngineCapabilities capabilities() const override {
    EngineCapabilities c;
    c.max_in_flight = max_in_flight_;
    return c;
  }
  bool Supports(const ModelConfig&) const override { return true; }
  Status Load(const ModelConfig&) override { return Status::Ok(); }
  Status Unload(const std::string&) override { return Status::Ok(); }
  Status Warmup(const std::string&, int) override {
    std::lock_guard lock(mu_);
    return warmup_;
  }
  Status Submit(Batch& batch) override {
    std::lock_guard lock(mu_);
    if (!refuse_.ok()) return refuse_;
    batches_.push_back(std::move(batch.items));
    ++outstanding_;
    max_outstanding_ = std::max(max_outstanding_, outstanding_);
    return Status::Ok();
  }
  EngineHealth Health() const override {
    CheckWorkerLockIsFree();
    std::lock_guard lock(mu_);
    return health_;
  }
  EngineStats Stats() const override { return {}; }
  void Shutdown() override {
    std::vector<std::vector<BatchItem>> open;
    {
      std::lock_guard lock(mu_);
      for (size_t i = completed_; i < batches_.size(); ++i) open.push_back(std::move(batches_[i]));
      completed_ = batches_.size();
      outstanding_ = 0;
    }
    for (auto& items : open) {
      for (BatchItem& item : items) item.done(Unavailable("engine shut down"));
    }
  }

  // Completes the oldest open batch: every item gets `error`, or outputs of the model's shape when OK.
  // Returns how many batches the engine held at that moment (the finishing one included).
  int CompleteNext(Status error = Status::Ok()) {
    std::vector<BatchItem> items;
    int held;
    {
      std::lock_guard lock(mu_);
      EXPECT_LT(completed_, batches_.size());
      if (completed_ >= batches_.size()) return 0;
      held = outstanding_;
      items = std::move(batches_[completed_++]);
      --outstanding_;
    }
    for (BatchItem& item : items) {
      if (error.ok()) {
        TensorList out;
        out.emplace_back(DType::kFloat32, std::vector<int64_t>{1, 3});
        item.done(std::move(out));
      } else {
        item.done(error);
      }
    }
    return held;
  }
  // Delivers a result for an item of batch `b` again (a late callback after a timeout).
  void LateDone(size_t b) {
    std::vector<BatchItem> items;
    {
      std::lock_guard lock(mu_);
      items = batches_.at(b);
    }
    for (BatchItem& item : items) item.done(Internal("late"));
  }

  size_t submitted() const {
    std::lock_guard lock(mu_);
    return batches_.size();
  }
  int max_outstanding() const {
    std::lock_guard lock(mu_);
    return max_outstanding_;
  }
  void SetHealth(EngineHealth h) {
    std::lock_guard lock(mu_);
    health_ = std::move(h);
  }
  void SetRefuse(Status s) {
    std::lock_guard lock(mu_);
    refuse_ = std::move(s);
  }
  void SetWarmup(Status s) {
    std::lock_guard lock(mu_);
    warmup_ = std::move(s);
  }

  void WatchLockOf(DeviceWorker* worker) { worker_ = worker; }
  int lock_rule_violations() const { return violations_.load(); }
  void JoinCheckers() {
    std::vector<std::thread> threads;
    {
      std::lock_guard lock(checkers_mu_);
      threads.swap(checkers_);
    }
    for (std::thread& t : threads) t.join();
  }

 private:
  void CheckWorkerLockIsFree() const {
    DeviceWorker* worker = worker_.load();
    if (!worker) return;
    auto got_it = std::make_shared<std::promise<void>>();
    std::future<void> future = got_it->get_future();
    {
      std::lock_guard lock(checkers_mu_);
      checkers_.emplace_back([worker, got_it] {
        (void)worker->HasModel("m");
        got_it->set_value();
      });
    }
    if (future.wait_for(std::chrono::seconds(2)) != std::future_status::ready) ++violations_;
  }

  DeviceInfo info_;
  const int max_in_flight_;
  mutable std::mutex mu_;
  std::vector<std::vector<BatchItem>> batches_;
  size_t completed_ = 0;
  int outstanding_ = 0;
  int max_outstanding_ = 0;
  EngineHealth health_;
  Status refuse_ = Status::Ok();
  Status warmup_ = Status::Ok();
  std::atomic<DeviceWorker*> worker_{nullptr};
  mutable std::atomic<int> violations_{0};
  mutable std::mutex checkers_mu_;
  mutable std::vector<std::thread> checkers_;
};

// Records what the worker gives back.
class RecordingRouter : public RequestRouter {
 public:
  void Retry(RequestPtr request, const std::string&, Status error) override {
    std::lock_guard lock(mu_);
    retried_.emplace_back(std::move(request), std::move(error));
  }
  void Requeue(RequestPtr request, const std::string&) override {
    std::lock_guard lock(mu_);
    requeued_.push_back(std::move(request));
  }
  size_t retried() const {
    std::lock_guard lock(mu_);
    return retried_.size();
  }
  size_t requeued() const {
    std::lock_guard lock(mu_);
    return requeued_.size();
  }
  Status retry_error(size_t i) const {
    std::lock_guard lock(mu_);
    return retried_.at(i).second;
  }
  RequestPtr requeued_request(size_t i) const {
    std::lock_guard lock(mu_);
    return requeued_.at(i);
  }

 private:
  mutable std::mutex mu_;
  std::vector<std::pair<RequestPtr, Status>> retried_;
  std::vector<RequestPtr> requeued_;
};

class DeviceWorkerTest : public ::testing::Test {
 protected:
  void StartWorker(int max_in_flight, int eject_after = 3) {
    auto engine = std::make_unique<ScriptedEngine>(max_in_flight);
    engine_ = engine.get();
    WorkerConfig config;
    config.health.eject_after = eject_after;
    config.health.backoff = Micros(1'000'000);
    config.execution_timeout = Micros(100'000);
    worker_ = std::make_unique<DeviceWorker>(std::move(engine), config, &clock_, &router_);
    ASSERT_TRUE(worker_->AddModel(Model()).ok());
    engine_->WatchLockOf(worker_.get());
    worker_->Start();
  }

  void TearDown() override {
    if (!worker_) return;
    EXPECT_EQ(engine_->lock_rule_violations(), 0) << "engine Health() was called under the worker's mu_";
    engine_->WatchLockOf(nullptr);
    engine_->JoinCheckers();
    worker_.reset();
  }

  RequestPtr Request() {
    auto r = std::make_shared<PendingRequest>();
    r->engine = "auto";
    r->model = std::make_shared<const ModelConfig>(Model());
    auto input = std::make_shared<Tensor>(DType::kFloat32, std::vector<int64_t>{1, 1, 2, 2});
    input->Fill(0);
    r->input = input;
    r->submitted = clock_.Now();
    r->done = [this](StatusOr<InferenceResult> result) {
      std::lock_guard lock(results_mu_);
      results_.push_back(result.ok() ? Outcome{Status::Ok(), result->compute_ms, result->queue_ms}
                                     : Outcome{result.status(), 0, 0});
    };
    return r;
  }

  // What a client heard, in the order it heard it.
  struct Outcome {
    Status status;
    double compute_ms = 0;
    double queue_ms = 0;
  };
  std::vector<Outcome> Results() {
    std::lock_guard lock(results_mu_);
    return results_;
  }

  DeviceStatus Snap() const { return worker_->Snapshot(); }

  FakeClock clock_;
  RecordingRouter router_;  // outlives the worker, which may call it while stopping
  ScriptedEngine* engine_ = nullptr;
  std::unique_ptr<DeviceWorker> worker_;
  std::mutex results_mu_;
  std::vector<Outcome> results_;
};

TEST_F(DeviceWorkerTest, EngineErrorsCountAndEjectThroughTheOnePath) {
  StartWorker(/*max_in_flight=*/1, /*eject_after=*/2);
  ASSERT_TRUE(worker_->Enqueue(Request(), false));
  ASSERT_TRUE(Eventually([&] { return engine_->submitted() == 1; }));
  engine_->CompleteNext(Internal("dma error"));
  EXPECT_FALSE(Snap().ejected);
  EXPECT_EQ(Snap().consecutive_failures, 1);
  EXPECT_EQ(router_.retried(), 1u);  // the failed item goes to another device

  ASSERT_TRUE(worker_->Enqueue(Request(), false));
  ASSERT_TRUE(Eventually([&] { return engine_->submitted() == 2; }));
  RequestPtr waiting = Request();
  ASSERT_TRUE(worker_->Enqueue(waiting, false));  // queued behind the batch in flight
  clock_.Advance(Micros(7'000));
  const SteadyTime failed_at = clock_.Now();
  engine_->CompleteNext(Internal("dma error"));

  const DeviceStatus s = Snap();
  EXPECT_TRUE(s.ejected);
  EXPECT_EQ(s.ejected_reason, "2 consecutive failures, last: engine error: INTERNAL: dma error");
  EXPECT_EQ(s.ejected_at, failed_at);
  EXPECT_EQ(s.ejections, 1u);
  EXPECT_EQ(s.failed, 2u);
  EXPECT_EQ(s.queue_depth, 0);
  ASSERT_EQ(router_.requeued(), 1u);  // the queued request was never tried here: placed again
  EXPECT_EQ(router_.requeued_request(0), waiting);
  EXPECT_FALSE(worker_->Enqueue(Request(), true));  // out of rotation
}

TEST_F(DeviceWorkerTest, EngineThatReportsFailedIsEjectedAtItsFirstError) {
  StartWorker(1, /*eject_after=*/5);
  ASSERT_TRUE(worker_->Enqueue(Request(), false));
  ASSERT_TRUE(Eventually([&] { return engine_->submitted() == 1; }));
  engine_->SetHealth({HealthState::kFailed, "ECC error"});
  clock_.Advance(Micros(3'000));
  engine_->CompleteNext(Internal("kernel failed"));
  const DeviceStatus s = Snap();
  EXPECT_TRUE(s.ejected);
  EXPECT_EQ(s.ejected_reason, "engine error: INTERNAL: kernel failed (engine reports failed: ECC error)");
  EXPECT_EQ(s.ejected_at, clock_.Now());
  EXPECT_EQ(s.ejections, 1u);
}

TEST_F(DeviceWorkerTest, SubmitRefusalIsAnEngineError) {
  StartWorker(1, /*eject_after=*/1);
  engine_->SetRefuse(Unavailable("queue closed"));
  RequestPtr r = Request();
  ASSERT_TRUE(worker_->Enqueue(r, false));
  ASSERT_TRUE(Eventually([&] { return Snap().ejected; }));
  const DeviceStatus s = Snap();
  EXPECT_EQ(s.ejected_reason,
            "1 consecutive failures, last: engine error: submit refused: UNAVAILABLE: queue closed");
  EXPECT_EQ(s.ejected_at, clock_.Now());
  EXPECT_EQ(s.ejections, 1u);
  ASSERT_TRUE(Eventually([&] { return router_.retried() == 1; }));
  EXPECT_EQ(router_.retry_error(0).code(), StatusCode::kUnavailable);
}

TEST_F(DeviceWorkerTest, ExecutionTimeoutEjectsAndGivesUpEveryBatchInFlight) {
  StartWorker(/*max_in_flight=*/2);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(worker_->Enqueue(Request(), false));
  ASSERT_TRUE(Eventually([&] { return engine_->submitted() == 2; }));
  clock_.Advance(Micros(100'000));  // the execution timeout; the device never answers
  const SteadyTime timed_out_at = clock_.Now();
  ASSERT_TRUE(Eventually([&] { return Snap().ejected; }));

  const DeviceStatus s = Snap();
  EXPECT_EQ(s.ejected_reason, "execution timeout: batch of 1 not done after 100 ms");
  EXPECT_EQ(s.ejected_at, timed_out_at);
  EXPECT_EQ(s.ejections, 1u);
  EXPECT_EQ(s.in_flight, 0);
  EXPECT_EQ(s.failed, 2u);
  ASSERT_TRUE(Eventually([&] { return router_.retried() == 2 && router_.requeued() == 1; }));
  EXPECT_EQ(router_.retry_error(0).code(), StatusCode::kDeadlineExceeded);
  EXPECT_EQ(router_.retry_error(1).code(), StatusCode::kDeadlineExceeded);

  engine_->LateDone(0);  // a late answer from the hung device is ignored
  EXPECT_EQ(router_.retried(), 2u);
  EXPECT_TRUE(Results().empty());
}

TEST_F(DeviceWorkerTest, HealthPollEjectsAnEngineThatReportsFailedAndProbeBringsItBack) {
  StartWorker(1);
  EXPECT_EQ(worker_->CheckHealth(clock_.Now()), std::nullopt);  // healthy: nothing to do
  ASSERT_TRUE(worker_->Enqueue(Request(), false));
  ASSERT_TRUE(Eventually([&] { return engine_->submitted() == 1; }));
  RequestPtr waiting = Request();
  ASSERT_TRUE(worker_->Enqueue(waiting, false));

  clock_.Advance(Micros(42'000));
  engine_->SetHealth({HealthState::kFailed, "card fell off the bus"});
  const std::optional<SteadyTime> next = worker_->CheckHealth(clock_.Now());
  DeviceStatus s = Snap();
  EXPECT_TRUE(s.ejected);
  EXPECT_EQ(s.ejected_reason, "health poll: card fell off the bus");
  EXPECT_EQ(s.ejected_at, clock_.Now());
  EXPECT_EQ(s.ejections, 1u);
  EXPECT_EQ(s.failed, 0u);  // no batch failed
  ASSERT_EQ(router_.requeued(), 1u);
  EXPECT_EQ(router_.requeued_request(0), waiting);
  EXPECT_EQ(next, clock_.Now() + Micros(1'000'000));  // first probe after the back-off
  engine_->CompleteNext();  // the batch it held still completes (and cannot time out while we wait)

  engine_->SetHealth({});
  EXPECT_EQ(worker_->CheckHealth(clock_.Now() + Micros(999'999)), next);  // not due yet
  clock_.Advance(Micros(1'000'000));
  EXPECT_EQ(worker_->CheckHealth(clock_.Now()), std::nullopt);
  s = Snap();
  EXPECT_FALSE(s.ejected);
  EXPECT_EQ(s.ejections, 1u);
  EXPECT_EQ(s.ejected_at, clock_.Now() - Micros(1'000'000));
}

TEST_F(DeviceWorkerTest, AFailedProbeKeepsTheDeviceOutAndBacksOff) {
  StartWorker(1);
  engine_->SetHealth({HealthState::kFailed, "overheated"});
  ASSERT_TRUE(worker_->CheckHealth(clock_.Now()).has_value());
  engine_->SetWarmup(Unavailable("still hot"));
  clock_.Advance(Micros(1'000'000));
  EXPECT_EQ(worker_->CheckHealth(clock_.Now()), clock_.Now() + Micros(2'000'000));
  const DeviceStatus s = Snap();
  EXPECT_TRUE(s.ejected);
  EXPECT_EQ(s.ejections, 1u);
  EXPECT_NE(s.ejected_reason.find("probe failed: still hot"), std::string::npos) << s.ejected_reason;
}

// Dispatch ahead: with room for two batches the engine is handed the next one while the current one runs,
// so when a batch finishes and work is queued, the engine already holds what it runs next; it is never
// handed more than max_in_flight. The batch dispatched ahead is timed from when the one before it ended.
TEST_F(DeviceWorkerTest, EngineAlreadyHoldsTheNextBatchWhenOneFinishes) {
  StartWorker(/*max_in_flight=*/2);
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(worker_->Enqueue(Request(), false));
  ASSERT_TRUE(Eventually([&] { return engine_->submitted() == 2; }));

  clock_.Advance(Micros(5'000));
  EXPECT_EQ(engine_->CompleteNext(), 2);  // the second batch was already in the engine
  ASSERT_TRUE(Eventually([&] { return engine_->submitted() == 3; }));
  clock_.Advance(Micros(5'000));
  EXPECT_EQ(engine_->CompleteNext(), 2);
  ASSERT_TRUE(Eventually([&] { return engine_->submitted() == 4; }));
  clock_.Advance(Micros(5'000));
  EXPECT_EQ(engine_->CompleteNext(), 2);
  clock_.Advance(Micros(5'000));
  EXPECT_EQ(engine_->CompleteNext(), 1);  // nothing left to send ahead
  EXPECT_EQ(engine_->max_outstanding(), 2);

  ASSERT_TRUE(Eventually([&] { return Results().size() == 4; }));
  const std::vector<Outcome> results = Results();
  for (size_t i = 0; i < results.size(); ++i) {
    ASSERT_TRUE(results[i].status.ok()) << results[i].status.ToString();
    EXPECT_DOUBLE_EQ(results[i].compute_ms, 5.0) << "batch " << i;
    EXPECT_DOUBLE_EQ(results[i].queue_ms, 5.0 * static_cast<double>(i)) << "batch " << i;
  }
  // The learnt service time is the device's 5 ms, not the 10 ms a batch spent inside the engine.
  EXPECT_DOUBLE_EQ(worker_->Backlog("m").estimate.BatchMs(1), 5.0);
}

// The worker sleeps until somebody has work for it: an idle worker does not look at the clock.
TEST_F(DeviceWorkerTest, IdleWorkerDoesNotPoll) {
  struct CountingClock : Clock {
    SteadyTime Now() const override {
      ++reads;
      return inner.Now();
    }
    FakeClock inner;
    mutable std::atomic<int> reads{0};
  } clock;
  RecordingRouter router;
  auto engine = std::make_unique<ScriptedEngine>(1);
  ScriptedEngine* e = engine.get();
  DeviceWorker worker(std::move(engine), WorkerConfig{}, &clock, &router);
  ASSERT_TRUE(worker.AddModel(Model()).ok());
  worker.Start();
  std::this_thread::sleep_for(milliseconds(20));  // let it reach its first sleep
  const int before = clock.reads.load();
  std::this_thread::sleep_for(milliseconds(150));
  EXPECT_EQ(clock.reads.load(), before);
  auto r = std::make_shared<PendingRequest>();
  r->model = std::make_shared<const ModelConfig>(Model());
  r->done = [](StatusOr<InferenceResult>) {};
  ASSERT_TRUE(worker.Enqueue(r, false));
  EXPECT_TRUE(Eventually([&] { return e->submitted() == 1; }));  // the arrival woke it
}

}  // namespace
}  // namespace accel
