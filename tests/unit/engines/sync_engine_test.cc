// SyncEngine on a fake engine whose Run the test controls: the queue, max_in_flight, the workers, the
// shutdown rule, the item checks, the counters and the model table.
#include "engines/sync_engine.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <future>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

namespace accel {
namespace {

using std::chrono::milliseconds;

// A latch the test opens; Run calls wait on it.
class Gate {
 public:
  void Open() {
    std::lock_guard lock(mu_);
    open_ = true;
    cv_.notify_all();
  }
  void Wait() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [this] { return open_; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
};

ModelConfig Model(const std::string& name = "m") {
  ModelConfig m;
  m.name = name;
  m.input.width = 2;
  m.input.height = 2;
  m.input.channels = 1;
  m.outputs.push_back(OutputSpec{"out", {3}, DType::kFloat32});
  return m;
}

// An input of Model() whose first element is `tag`.
std::shared_ptr<const Tensor> Input(float tag) {
  auto t = std::make_shared<Tensor>(DType::kFloat32, std::vector<int64_t>{1, 1, 2, 2});
  t->Fill(0);
  t->data<float>()[0] = tag;
  return t;
}

// Outputs of one item; a correct one by default. Its first element echoes `tag`.
TensorList Out(float tag, std::vector<int64_t> shape = {1, 3}) {
  TensorList list;
  list.emplace_back(DType::kFloat32, std::move(shape), "out");
  list.back().Fill(0);
  list.back().data<float>()[0] = tag;
  return list;
}

// Echoes every input's tag into a correct output.
StatusOr<std::vector<TensorList>> Echo(const SyncBatch& batch) {
  std::vector<TensorList> results;
  for (const Tensor* input : batch.inputs) results.push_back(Out(input->data<float>()[0]));
  return results;
}

// Counts the models alive, to see when the table and the queued batches let go of them.
std::atomic<int> g_models_alive{0};

struct CountedModel : LoadedModel {
  explicit CountedModel(const ModelConfig& config) : LoadedModel(config) { ++g_models_alive; }
  ~CountedModel() override { --g_models_alive; }
};

class FakeEngine final : public SyncEngine {
 public:
  using RunFn = std::function<StatusOr<std::vector<TensorList>>(FakeEngine&, const SyncBatch&)>;

  FakeEngine(SyncEngineLimits limits, RunFn run) : SyncEngine(Info(), limits), run_(std::move(run)) {}
  ~FakeEngine() override { Shutdown(); }

  bool Supports(const ModelConfig&) const override { return true; }

  using SyncEngine::MarkFailed;
  using SyncEngine::WaitForShutdown;

  int runs() const { return runs_.load(); }
  int max_concurrent() const { return max_concurrent_.load(); }

 protected:
  StatusOr<std::shared_ptr<const LoadedModel>> LoadModel(const ModelConfig& model) override {
    if (model.name == "unreadable") return FailedPrecondition("cannot read the artifact");
    return std::shared_ptr<const LoadedModel>(std::make_shared<CountedModel>(model));
  }

  StatusOr<std::vector<TensorList>> Run(const LoadedModel& model, const SyncBatch& batch) override {
    EXPECT_EQ(model.item_input_shape(), (std::vector<int64_t>{1, 1, 2, 2}));
    const int now = ++concurrent_;
    int seen = max_concurrent_.load();
    while (now > seen && !max_concurrent_.compare_exchange_weak(seen, now)) {
    }
    ++runs_;
    auto result = run_(*this, batch);
    --concurrent_;
    return result;
  }

 private:
  static DeviceInfo Info() {
    DeviceInfo info;
    info.id = "fake:0";
    info.kind = "fake";
    return info;
  }

  RunFn run_;
  std::atomic<int> runs_{0}, concurrent_{0}, max_concurrent_{0};
};

// Results of the items of one submitted batch, as futures.
struct Pending {
  std::vector<std::future<StatusOr<TensorList>>> results;
  bool Ready(milliseconds wait = milliseconds(0)) {
    for (auto& f : results) {
      if (f.wait_for(wait) != std::future_status::ready) return false;
    }
    return true;
  }
};

Batch MakeBatch(const std::vector<std::shared_ptr<const Tensor>>& inputs, Pending& pending,
                const std::string& model = "m") {
  Batch b;
  b.model = model;
  for (const auto& input : inputs) {
    auto promise = std::make_shared<std::promise<StatusOr<TensorList>>>();
    pending.results.push_back(promise->get_future());
    b.items.push_back(
        BatchItem{input, [promise](StatusOr<TensorList> r) { promise->set_value(std::move(r)); }});
  }
  return b;
}

Status SubmitOne(FakeEngine& e, float tag, Pending& pending) {
  Batch b = MakeBatch({Input(tag)}, pending);
  return e.Submit(b);
}

float Tag(const StatusOr<TensorList>& r) { return (*r)[0].data<float>()[0]; }

TEST(SyncEngine, OneWorkerRunsQueuedBatchesInOrderAndDeliversEachItem) {
  Gate gate;
  std::vector<float> order;
  FakeEngine e({.max_batch = 4, .max_in_flight = 3, .workers = 1}, [&](FakeEngine&, const SyncBatch& b) {
    gate.Wait();
    order.push_back(b.inputs[0]->data<float>()[0]);  // one worker: no lock needed
    return Echo(b);
  });
  ASSERT_TRUE(e.Load(Model()).ok());
  Pending a, b, c;
  Batch batch = MakeBatch({Input(1), Input(2)}, a);
  ASSERT_TRUE(e.Submit(batch).ok());
  EXPECT_TRUE(batch.items.empty());  // taken
  ASSERT_TRUE(SubmitOne(e, 3, b).ok());
  ASSERT_TRUE(SubmitOne(e, 4, c).ok());
  EXPECT_FALSE(a.Ready(milliseconds(20)));
  gate.Open();
  ASSERT_TRUE(a.Ready(milliseconds(2000)) && b.Ready(milliseconds(2000)) && c.Ready(milliseconds(2000)));
  auto a0 = a.results[0].get(), a1 = a.results[1].get(), b0 = b.results[0].get();
  ASSERT_TRUE(a0.ok() && a1.ok() && b0.ok());
  EXPECT_EQ(Tag(a0), 1);
  EXPECT_EQ(Tag(a1), 2);
  EXPECT_EQ(Tag(b0), 3);
  EXPECT_EQ(order, (std::vector<float>{1, 3, 4}));
  EXPECT_EQ(e.max_concurrent(), 1);
}

TEST(SyncEngine, MaxInFlightRefusesAndLeavesTheBatchWithTheCaller) {
  Gate gate;
  FakeEngine e({.max_batch = 1, .max_in_flight = 2, .workers = 1}, [&](FakeEngine&, const SyncBatch& b) {
    gate.Wait();
    return Echo(b);
  });
  ASSERT_TRUE(e.Load(Model()).ok());
  Pending a, b, refused;
  ASSERT_TRUE(SubmitOne(e, 1, a).ok());  // running
  ASSERT_TRUE(SubmitOne(e, 2, b).ok());  // queued
  Batch third = MakeBatch({Input(3)}, refused);
  EXPECT_EQ(e.Submit(third).code(), StatusCode::kResourceExhausted);
  ASSERT_EQ(third.items.size(), 1u);  // still the caller's
  EXPECT_FALSE(refused.Ready(milliseconds(20)));
  gate.Open();
  ASSERT_TRUE(a.Ready(milliseconds(2000)) && b.Ready(milliseconds(2000)));
  EXPECT_TRUE(e.Submit(third).ok());
  ASSERT_TRUE(refused.Ready(milliseconds(2000)));
  EXPECT_EQ(Tag(refused.results[0].get()), 3);
}

// The batch stops counting against max_in_flight before its items' `done` run, so the scheduler can
// submit the next batch from inside them without being refused.
TEST(SyncEngine, DoneMaySubmitTheNextBatchAtMaxInFlight) {
  FakeEngine e({.max_batch = 1, .max_in_flight = 1, .workers = 1},
               [](FakeEngine&, const SyncBatch& b) { return Echo(b); });
  ASSERT_TRUE(e.Load(Model()).ok());
  std::promise<Status> resubmitted;
  Pending second;
  Batch next = MakeBatch({Input(2)}, second);
  Batch first;
  first.model = "m";
  first.items.push_back(BatchItem{Input(1), [&](StatusOr<TensorList> r) {
                                    EXPECT_TRUE(r.ok());
                                    resubmitted.set_value(e.Submit(next));
                                  }});
  ASSERT_TRUE(e.Submit(first).ok());
  auto f = resubmitted.get_future();
  ASSERT_EQ(f.wait_for(milliseconds(2000)), std::future_status::ready);
  EXPECT_TRUE(f.get().ok());
  ASSERT_TRUE(second.Ready(milliseconds(2000)));
  EXPECT_EQ(Tag(second.results[0].get()), 2);
}

TEST(SyncEngine, WorkersRunBatchesConcurrentlyEachWithItsIndex) {
  std::mutex mu;
  std::condition_variable cv;
  int arrived = 0;
  std::set<int> workers;
  FakeEngine e({.max_batch = 1, .max_in_flight = 2, .workers = 2}, [&](FakeEngine&, const SyncBatch& b) {
    std::unique_lock lock(mu);
    workers.insert(b.worker);
    ++arrived;
    cv.notify_all();
    cv.wait_for(lock, milliseconds(2000), [&] { return arrived == 2; });  // both inside Run at once
    return Echo(b);
  });
  ASSERT_TRUE(e.Load(Model()).ok());
  Pending a, b;
  ASSERT_TRUE(SubmitOne(e, 1, a).ok());
  ASSERT_TRUE(SubmitOne(e, 2, b).ok());
  ASSERT_TRUE(a.Ready(milliseconds(3000)) && b.Ready(milliseconds(3000)));
  EXPECT_EQ(e.max_concurrent(), 2);
  EXPECT_EQ(workers, (std::set<int>{0, 1}));
}

TEST(SyncEngine, ShutdownFailsQueuedWorkWithUnavailableAndCompletesRunningWork) {
  Gate gate;
  std::promise<void> running;
  FakeEngine e({.max_batch = 1, .max_in_flight = 3, .workers = 1}, [&](FakeEngine&, const SyncBatch& b) {
    if (b.inputs[0]->data<float>()[0] == 1) running.set_value();
    gate.Wait();
    return Echo(b);
  });
  ASSERT_TRUE(e.Load(Model()).ok());
  Pending a, b, c;
  ASSERT_TRUE(SubmitOne(e, 1, a).ok());
  ASSERT_TRUE(SubmitOne(e, 2, b).ok());
  ASSERT_TRUE(SubmitOne(e, 3, c).ok());
  running.get_future().wait();
  std::thread shutdown([&] { e.Shutdown(); });
  // Queued work is failed at once, while the running batch is still inside Run.
  ASSERT_TRUE(b.Ready(milliseconds(2000)) && c.Ready(milliseconds(2000)));
  for (Pending* p : {&b, &c}) {
    StatusOr<TensorList> r = p->results[0].get();
    EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
    EXPECT_NE(r.status().message().find("shut down before running"), std::string::npos)
        << r.status().ToString();
  }
  EXPECT_FALSE(a.Ready(milliseconds(20)));
  EXPECT_EQ(e.Health().state, HealthState::kFailed);
  gate.Open();
  shutdown.join();
  // The running batch completed with its own result before Shutdown returned.
  ASSERT_TRUE(a.Ready());
  StatusOr<TensorList> r = a.results[0].get();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(Tag(r), 1);
  EXPECT_EQ(e.runs(), 1);
  EXPECT_EQ(e.Health().reason, "shut down");
  Pending late;
  Batch after = MakeBatch({Input(4)}, late);
  EXPECT_EQ(e.Submit(after).code(), StatusCode::kUnavailable);
  EXPECT_EQ(after.items.size(), 1u);
  EXPECT_EQ(e.Load(Model("other")).code(), StatusCode::kUnavailable);
  EXPECT_EQ(e.Warmup("m", 1).code(), StatusCode::kUnavailable);
  e.Shutdown();  // idempotent
}

TEST(SyncEngine, ShutdownEndsARunThatWaitsOnAHungDevice) {
  FakeEngine e({.max_batch = 1, .max_in_flight = 1, .workers = 1},
               [](FakeEngine& self, const SyncBatch&) -> StatusOr<std::vector<TensorList>> {
                 EXPECT_FALSE(self.WaitForShutdown(std::chrono::steady_clock::now() + milliseconds(1)));
                 EXPECT_TRUE(self.WaitForShutdown(std::nullopt));
                 return Unavailable("hung device given up at shutdown");
               });
  ASSERT_TRUE(e.Load(Model()).ok());
  Pending a;
  ASSERT_TRUE(SubmitOne(e, 1, a).ok());
  EXPECT_FALSE(a.Ready(milliseconds(30)));
  e.Shutdown();
  ASSERT_TRUE(a.Ready());
  EXPECT_EQ(a.results[0].get().status().code(), StatusCode::kUnavailable);
}

TEST(SyncEngine, BadInputsFailAloneAndNeverReachRun) {
  std::vector<size_t> seen;
  FakeEngine e({.max_batch = 4, .max_in_flight = 1, .workers = 1}, [&](FakeEngine&, const SyncBatch& b) {
    seen.push_back(b.inputs.size());
    return Echo(b);
  });
  ASSERT_TRUE(e.Load(Model()).ok());
  auto wrong_shape = std::make_shared<const Tensor>(DType::kFloat32, std::vector<int64_t>{1, 1, 2, 3});
  auto wrong_dtype = std::make_shared<const Tensor>(DType::kUInt8, std::vector<int64_t>{1, 1, 2, 2});
  Pending p;
  Batch b = MakeBatch({wrong_shape, Input(7), nullptr, wrong_dtype}, p);
  ASSERT_TRUE(e.Submit(b).ok());
  ASSERT_TRUE(p.Ready(milliseconds(2000)));
  EXPECT_EQ(p.results[0].get().status().code(), StatusCode::kInvalidArgument);
  StatusOr<TensorList> good = p.results[1].get();
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(Tag(good), 7);
  EXPECT_EQ(p.results[2].get().status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(p.results[3].get().status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(seen, (std::vector<size_t>{1}));
  // A batch with no valid item is not run at all, and a client's bad input is no device failure.
  Pending none;
  Batch all_bad = MakeBatch({nullptr}, none);
  ASSERT_TRUE(e.Submit(all_bad).ok());
  ASSERT_TRUE(none.Ready(milliseconds(2000)));
  EXPECT_EQ(seen.size(), 1u);
  EngineStats s = e.Stats();
  EXPECT_EQ(s.batches_executed, 1u);
  EXPECT_EQ(s.items_executed, 1u);
  EXPECT_EQ(s.failures, 0u);
}

TEST(SyncEngine, OutputShapeCheckFailsTheOffendingItemsAndCountsAFailure) {
  FakeEngine e({.max_batch = 3, .max_in_flight = 1, .workers = 1}, [](FakeEngine&, const SyncBatch&) {
    std::vector<TensorList> results;
    results.push_back(Out(1));
    results.push_back(Out(2, {2, 3}));  // batch dimension of 2 for one item
    results.push_back(Out(3, {1, 4}));  // fixed dimension differs from model.yaml
    return StatusOr<std::vector<TensorList>>(std::move(results));
  });
  ASSERT_TRUE(e.Load(Model()).ok());
  Pending p;
  Batch b = MakeBatch({Input(1), Input(2), Input(3)}, p);
  ASSERT_TRUE(e.Submit(b).ok());
  ASSERT_TRUE(p.Ready(milliseconds(2000)));
  EXPECT_TRUE(p.results[0].get().ok());
  for (int i : {1, 2}) {
    StatusOr<TensorList> r = p.results[i].get();
    EXPECT_EQ(r.status().code(), StatusCode::kInternal);
    EXPECT_NE(r.status().message().find("output shape mismatch"), std::string::npos) << r.status().ToString();
  }
  EngineStats s = e.Stats();
  EXPECT_EQ(s.batches_executed, 1u);
  EXPECT_EQ(s.items_executed, 1u);
  EXPECT_EQ(s.failures, 1u);
}

TEST(SyncEngine, ABatchErrorAWrongResultCountAndAnExceptionFailEveryItem) {
  int call = 0;
  FakeEngine e({.max_batch = 2, .max_in_flight = 1, .workers = 1},
               [&](FakeEngine&, const SyncBatch& b) -> StatusOr<std::vector<TensorList>> {
                 switch (++call) {
                   case 1:
                     return Internal("device said no");
                   case 2: {
                     std::vector<TensorList> one;
                     one.push_back(Out(1));
                     return one;  // for a batch of two
                   }
                   case 3:
                     throw std::runtime_error("sdk exception");
                   default:
                     return Echo(b);
                 }
               });
  ASSERT_TRUE(e.Load(Model()).ok());
  for (const char* expected : {"device said no", "returned 1 results for a batch of 2", "sdk exception"}) {
    Pending p;
    Batch b = MakeBatch({Input(1), Input(2)}, p);
    ASSERT_TRUE(e.Submit(b).ok());
    ASSERT_TRUE(p.Ready(milliseconds(2000)));
    for (auto& f : p.results) {
      StatusOr<TensorList> r = f.get();
      EXPECT_EQ(r.status().code(), StatusCode::kInternal);
      EXPECT_NE(r.status().message().find(expected), std::string::npos) << r.status().ToString();
    }
  }
  EngineStats s = e.Stats();
  EXPECT_EQ(s.batches_executed, 3u);
  EXPECT_EQ(s.items_executed, 0u);
  EXPECT_EQ(s.failures, 3u);
}

TEST(SyncEngine, WarmupRunsZeroInputsThroughRunAndIsNotCounted) {
  std::vector<SyncBatch> calls;  // inputs are not kept past the call
  std::vector<float> first_values;
  FakeEngine e({.max_batch = 4, .max_in_flight = 1, .workers = 1}, [&](FakeEngine&, const SyncBatch& b) {
    calls.push_back(SyncBatch{{}, b.accepted, b.worker, b.warmup});
    first_values.push_back(b.inputs[0]->data<float>()[0]);
    EXPECT_EQ(b.inputs.size(), calls.size() == 1 ? 3u : 1u);
    return Echo(b);
  });
  ASSERT_TRUE(e.Load(Model()).ok());
  EXPECT_TRUE(e.Warmup("m", 3).ok());
  EXPECT_EQ(e.Warmup("m", 0).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(e.Warmup("m", 5).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(e.Warmup("nope", 1).code(), StatusCode::kNotFound);
  EngineStats s = e.Stats();
  EXPECT_EQ(s.batches_executed, 0u);
  EXPECT_EQ(s.items_executed, 0u);
  const auto before = std::chrono::steady_clock::now();
  Pending p;
  ASSERT_TRUE(SubmitOne(e, 5, p).ok());
  ASSERT_TRUE(p.Ready(milliseconds(2000)));
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_TRUE(calls[0].warmup);
  EXPECT_EQ(first_values[0], 0.0f);
  EXPECT_FALSE(calls[1].warmup);
  EXPECT_GE(calls[1].accepted, before);  // taken at Submit
  EXPECT_LE(calls[1].accepted, std::chrono::steady_clock::now());
  s = e.Stats();
  EXPECT_EQ(s.batches_executed, 1u);
  EXPECT_EQ(s.items_executed, 1u);
}

TEST(SyncEngine, RefusedBatchesStayWithTheCaller) {
  FakeEngine e({.max_batch = 2, .max_in_flight = 1, .workers = 1},
               [](FakeEngine&, const SyncBatch& b) { return Echo(b); });
  ASSERT_TRUE(e.Load(Model()).ok());
  Pending p;
  Batch empty;
  empty.model = "m";
  EXPECT_EQ(e.Submit(empty).code(), StatusCode::kInvalidArgument);
  Batch too_big = MakeBatch({Input(1), Input(2), Input(3)}, p);
  EXPECT_EQ(e.Submit(too_big).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(too_big.items.size(), 3u);
  Batch unknown = MakeBatch({Input(1)}, p, "nope");
  Status s = e.Submit(unknown);
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_EQ(s.message(), "model 'nope' is not loaded on fake:0");
  EXPECT_EQ(unknown.items.size(), 1u);
  EXPECT_FALSE(p.Ready());
  EXPECT_EQ(e.runs(), 0);
}

TEST(SyncEngine, UnloadKeepsTheModelForQueuedBatchesThenReleasesIt) {
  Gate gate;
  FakeEngine e({.max_batch = 1, .max_in_flight = 2, .workers = 1}, [&](FakeEngine&, const SyncBatch& b) {
    gate.Wait();
    return Echo(b);
  });
  const int alive = g_models_alive.load();
  EXPECT_EQ(e.Load(Model("unreadable")).code(), StatusCode::kFailedPrecondition);
  ASSERT_TRUE(e.Load(Model()).ok());
  EXPECT_EQ(g_models_alive.load(), alive + 1);
  Pending a, b;
  ASSERT_TRUE(SubmitOne(e, 1, a).ok());
  ASSERT_TRUE(SubmitOne(e, 2, b).ok());
  ASSERT_TRUE(e.Unload("m").ok());
  EXPECT_EQ(e.Unload("m").code(), StatusCode::kNotFound);
  Pending c;
  EXPECT_EQ(SubmitOne(e, 3, c).code(), StatusCode::kNotFound);
  EXPECT_EQ(g_models_alive.load(), alive + 1);  // the queued batches hold it
  gate.Open();
  ASSERT_TRUE(a.Ready(milliseconds(2000)) && b.Ready(milliseconds(2000)));
  EXPECT_TRUE(a.results[0].get().ok());
  EXPECT_TRUE(b.results[0].get().ok());
  // Released by the worker once the last batch is done; give it the moment after its last `done`.
  for (int i = 0; i < 200 && g_models_alive.load() != alive; ++i)
    std::this_thread::sleep_for(milliseconds(1));
  EXPECT_EQ(g_models_alive.load(), alive);
}

TEST(SyncEngine, MarkFailedIsStickyAndFailsQueuedWorkWithoutRunningIt) {
  Gate gate;
  FakeEngine e({.max_batch = 1, .max_in_flight = 2, .workers = 1},
               [&](FakeEngine& self, const SyncBatch&) -> StatusOr<std::vector<TensorList>> {
                 gate.Wait();
                 self.MarkFailed("device lost");
                 self.MarkFailed("second reason is ignored");
                 return Unavailable("device lost during the batch");
               });
  ASSERT_TRUE(e.Load(Model()).ok());
  Pending a, b;
  ASSERT_TRUE(SubmitOne(e, 1, a).ok());
  ASSERT_TRUE(SubmitOne(e, 2, b).ok());
  gate.Open();
  ASSERT_TRUE(a.Ready(milliseconds(2000)) && b.Ready(milliseconds(2000)));
  EXPECT_EQ(a.results[0].get().status().code(), StatusCode::kUnavailable);
  StatusOr<TensorList> queued = b.results[0].get();
  EXPECT_EQ(queued.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(queued.status().message().find("device lost"), std::string::npos);
  EXPECT_EQ(e.runs(), 1);
  EXPECT_EQ(e.Health().state, HealthState::kFailed);
  EXPECT_EQ(e.Health().reason, "device lost");
  Pending c;
  EXPECT_EQ(SubmitOne(e, 3, c).code(), StatusCode::kUnavailable);
  EXPECT_EQ(e.Load(Model("other")).code(), StatusCode::kUnavailable);
  EXPECT_EQ(e.Stats().failures, 1u);
}

TEST(SyncEngine, CapabilitiesComeFromTheLimits) {
  FakeEngine e({.max_batch = 8, .max_in_flight = 3, .workers = 2},
               [](FakeEngine&, const SyncBatch& b) { return Echo(b); });
  EXPECT_EQ(e.capabilities().max_batch, 8);
  EXPECT_EQ(e.capabilities().max_in_flight, 3);
  EXPECT_TRUE(e.capabilities().async);
  EXPECT_EQ(e.Health().state, HealthState::kReady);
  EXPECT_EQ(e.device().id, "fake:0");
}

}  // namespace
}  // namespace accel
