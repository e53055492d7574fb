// Service: the composition root. The one place that assembles engines, scheduler, detection pipeline,
// metrics, the ServiceContext the front ends share, the KServe backend and the front ends themselves
// (HTTP with every route, KServe gRPC, Frigate zmq). `accel serve`, `accel infer` and the tests all build
// the service through it, so they run the same assembly.
//
// Threading: Create, StartFrontEnds and Stop are called from one control thread. Between StartFrontEnds and
// Stop the front ends serve requests on their own threads; the accessors return objects that are
// thread-safe as documented on each.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <vector>

#include "api/kserve_common.h"
#include "api/service_context.h"
#include "app/app_config.h"
#include "engines/engine_registry.h"
#include "scheduler/scheduler.h"

namespace accel {

class AccelMetrics;
class DetectionPipeline;
class ModelControl;
class ResultCache;
class SseHub;
class StreamManager;
class ThreadPool;

SchedulerOptions MakeSchedulerOptions(const ServeConfig& config);

// Probes every registered kind. When `scheduler` is given, creates engines for enabled kinds and adds them.
// Logs what was found, what was created and why anything was not. (`accel devices` calls it without a
// scheduler.)
std::vector<EngineKindReport> ProbeAndCreateDevices(const ServeConfig& config, EngineRegistry& registry,
                                                    Scheduler* scheduler);

// Loads every valid model under config.models_dir on the devices that support it. Logs each outcome.
// Returns the number of models loaded; errors only if the repository itself cannot be read.
StatusOr<int> LoadModelRepository(const ServeConfig& config, Scheduler& scheduler);

class Service {
 public:
  // Builds everything but the front ends. Devices come from probing the engine kinds `config` enables, or,
  // when `engines` is not empty, are exactly those engines (tests, benchmarks). Fails when an engine kind
  // cannot be registered or the model repository cannot be read; a machine without any device still
  // builds (every inference then answers 503).
  static StatusOr<std::unique_ptr<Service>> Create(const ServeConfig& config,
                                                   std::vector<std::unique_ptr<Engine>> engines = {});
  ~Service();  // Stop()
  Service(const Service&) = delete;
  Service& operator=(const Service&) = delete;

  // Starts HTTP, then gRPC and zmq where `config` enables them; a port that cannot be bound is an error
  // (what was started is stopped again). Writes --grpc-port-file, then --port-file last: its presence means
  // every front end is up.
  Status StartFrontEnds();
  // The graceful half of a stop (SIGTERM): readiness turns false at once (/v2/health/ready, gRPC
  // ServerReady, /ai/health "ready"), the HTTP and gRPC listeners close, idle HTTP keep-alive connections
  // close and every later HTTP answer carries `Connection: close`; requests in flight (HTTP, gRPC, queued in
  // the scheduler) go on. Returns when they have all been answered or after `timeout`, whichever is first;
  // true when all were. The zmq front end keeps serving until Stop (its peers hold one connection each and
  // reconnect elsewhere on their own timeout). Call Stop() afterwards. After StartFrontEnds; once.
  bool Drain(std::chrono::milliseconds timeout);
  // Stops the front ends, then the scheduler (queued work fails, engines shut down; after a Drain, batches
  // still on a device are not waited for). Idempotent.
  void Stop();

  const ServeConfig& config() const { return config_; }
  ServiceContext& context() { return context_; }
  Scheduler& scheduler() { return *scheduler_; }
  DetectionPipeline& pipeline() { return *pipeline_; }
  KServeBackend& kserve() { return *kserve_; }
  StreamManager& streams() { return *streams_; }
  int models_loaded() const { return models_loaded_; }
  int http_port() const;  // -1 before StartFrontEnds
  int grpc_port() const;  // -1 when gRPC is off

 private:
  explicit Service(ServeConfig config);
  struct FrontEnds;

  const ServeConfig config_;
  // Declaration order is destruction order, reversed: factories (and the plugins behind them) outlive the
  // engines the scheduler owns; metrics outlive the scheduler's observer; the context outlives front ends.
  EngineRegistry registry_;
  std::unique_ptr<AccelMetrics> metrics_;
  std::unique_ptr<Scheduler> scheduler_;
  // Null when the result cache is off. Outlives the pool and the pipeline, whose queued work uses it; Stop
  // stops its Redis level first, while the pool still takes the work its pending lookups hand back.
  std::unique_ptr<ResultCache> cache_;
  std::unique_ptr<ThreadPool> cpu_pool_;
  std::unique_ptr<DetectionPipeline> pipeline_;
  std::unique_ptr<ModelControl> model_control_;
  ServiceContext context_;
  std::unique_ptr<KServeBackend> kserve_;
  // Watched streams (docs/streams.md) and their Server-Sent Events output; the hub outlives the manager,
  // whose runners publish to it.
  std::unique_ptr<SseHub> sse_hub_;
  std::unique_ptr<StreamManager> streams_;
  std::unique_ptr<FrontEnds> front_ends_;
  int models_loaded_ = 0;
  std::atomic<bool> draining_{false};  // context_.draining points here
  bool stopped_ = false;
};

}  // namespace accel
