// AccelMetrics: every metric Accel exposes, behind explicit methods that the API layer and the scheduler's
// callbacks call. Names, types and labels are listed in docs/metrics.md; keep the two in step.
//
// This class knows nothing of the scheduler or the engines: the owner converts its device status into
// DeviceGaugeSnapshot values through a provider called at scrape time.
//
// Threads: every method may be called from any thread, concurrently. Record* methods cost one shared-lock
// map lookup plus a few atomic adds. Label values that come from clients (model names) must already be
// validated by the caller (pass "unknown" for a model that does not exist): families cap their label sets
// (see Family), but a cap is a safety net, not a filter.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "metrics/metrics.h"
#include "metrics/request_window.h"

namespace accel {

// One device as seen at scrape time. Negative figures mean "unknown": that series is omitted.
struct DeviceGaugeSnapshot {
  std::string device;  // "cpu:0", "sim:hailo-a"
  std::string engine;  // engine kind: "cpu", "nvidia", "hailo", "sim"
  bool simulated = false;
  int health_state = 0;  // 0 ready, 1 degraded, 2 failed or ejected
  int queue_depth = 0;
  int in_flight = 0;
  double temperature_c = -1;
  double power_w = -1;
  double utilization_percent = -1;  // 0..100; exposed as a 0..1 ratio
  double memory_used_bytes = -1;
  double memory_total_bytes = -1;
};

// Outcome label of a request, from its HTTP status (gRPC and ZMQ callers pass HttpStatusFor(code)).
// < 400: "success"; 400..499: "client_error"; >= 500 (and anything else): "server_error".
std::string_view RequestOutcome(int http_status);

class AccelMetrics {
 public:
  struct Options {
    std::string version;           // accel_build_info{version}; empty: the CMake project version
    Clock* clock = Clock::Real();  // for the /ai/stats window only; not owned
    int stats_window_seconds = 10;
  };
  AccelMetrics();
  explicit AccelMetrics(Options options);
  AccelMetrics(const AccelMetrics&) = delete;
  AccelMetrics& operator=(const AccelMetrics&) = delete;

  // One finished client request that asked for an inference (not health checks, not /metrics, not the
  // dashboard's polling). api: "ai", "deepstack", "kserve_http", "kserve_grpc", "zmq". device: "" when the
  // request failed before reaching one. total_seconds: arrival to response written (or handed to the
  // transport).
  void RecordRequest(std::string_view api, std::string_view model, std::string_view device, int http_status,
                     double total_seconds);

  // One item (image) that a device computed. queue_seconds: submitted to the scheduler until its batch
  // started; compute_seconds: the batch's execution time as seen by the worker (shared by its items).
  void RecordInference(std::string_view model, std::string_view device, std::string_view engine,
                       bool simulated, double queue_seconds, double compute_seconds);

  // One batch executed on a device (an "execution"; inferences / executions = mean batch size).
  void RecordBatch(std::string_view model, std::string_view device, std::string_view engine, bool simulated,
                   int batch_size);

  // A request refused for want of a valid key. front_end: "http", "grpc"; status: the refusal's
  // HTTP status (401 no or wrong key, 403 a key without the right).
  void RecordAccessDenied(std::string_view front_end, int status);

  // Result cache (src/cache, docs/cache.md). The accel_cache_* families appear only once EnableCacheMetrics
  // has been called (the service calls it when the cache is on; every Record* call enables them too), so a
  // configuration without a cache does not advertise one.
  void EnableCacheMetrics();
  // One request's cache outcome: "memory", "redis", "inflight" (hits, by where they came from), "miss" or
  // "bypass" (not consulted).
  void RecordCacheLookup(std::string_view outcome);
  // How long one level took to answer a lookup: level "memory" or "redis".
  void RecordCacheLevelLatency(std::string_view level, double seconds);
  // kind: "connect", "auth", "io", "command", "timeout", "dropped", "decode" (ResultCache's observer).
  void RecordCacheError(std::string_view kind);
  void RecordCacheEvictions(uint64_t evicted);
  // The in-process level's size now.
  void SetCacheMemory(uint64_t bytes, uint64_t entries);

  // Connections the zmq front end refused (api/zmq_access.h): reason "address" (not in the allow-list), "key"
  // (CURVE key not authorised) or "handshake" (the handshake failed: wrong security mechanism, e.g.
  // plaintext to a CURVE server, or the connection dropped during it).
  // The family appears once EnableZmqAccessMetrics or RecordZmqRefused has been called, all three reasons
  // at 0, so a server without zmq access control does not advertise it.
  void EnableZmqAccessMetrics();
  void RecordZmqRefused(std::string_view reason);

  // Called on every Render (from the scraping thread); replaces any previous provider. It must not call
  // back into this object's Render.
  using DeviceSnapshotProvider = std::function<std::vector<DeviceGaugeSnapshot>()>;
  void SetDeviceSnapshotProvider(DeviceSnapshotProvider provider);

  // The Prometheus text exposition (content type kExpositionContentType).
  std::string Render() const;

  // For /ai/stats and the web dashboard.
  struct Summary {
    double uptime_seconds = 0;
    uint64_t requests_total = 0;    // all recorded requests since start
    uint64_t errors_total = 0;      // those with outcome != success
    RequestWindow::Summary window;  // the last stats_window_seconds
  };
  Summary Summarize() const;

  // For metrics the owner wants to add itself (registered once at start).
  MetricRegistry& registry() { return registry_; }

 private:
  struct RequestSeries {
    Counter* success;
    Counter* client_error;
    Counter* server_error;
    Histogram* duration;
  };
  struct InferenceSeries {
    Counter* inferences;
    Histogram* queue;
    Histogram* compute;
  };
  struct BatchSeries {
    Counter* executions;
    Histogram* batch_size;
  };
  // A cache of bundles of child pointers keyed by label values, so one lookup finds every child an event
  // touches.
  template <typename Bundle>
  class SeriesCache {
   public:
    template <typename Make>
    const Bundle& Get(std::initializer_list<std::string_view> values, Make make);

   private:
    std::shared_mutex mutex_;
    std::map<std::string, std::unique_ptr<Bundle>, std::less<>> bundles_;
  };

  void CollectDevices(ExpositionWriter& out) const;
  void CollectProcess(ExpositionWriter& out) const;

  Options options_;
  SteadyTime start_steady_;
  double start_time_seconds_;  // Unix time the process started
  MetricRegistry registry_;

  CounterFamily* requests_;
  CounterFamily* access_denied_;
  HistogramFamily* request_duration_;
  CounterFamily* inferences_;
  HistogramFamily* queue_duration_;
  HistogramFamily* compute_duration_;
  CounterFamily* executions_;
  HistogramFamily* batch_size_;
  struct CacheSeries {
    CounterFamily* hits;
    Counter* misses;
    Counter* bypass;
    CounterFamily* errors;
    Counter* evictions;
    Gauge* bytes;
    Gauge* entries;
    HistogramFamily* lookup_duration;
  };
  std::once_flag cache_once_;
  std::atomic<const CacheSeries*> cache_{nullptr};
  std::unique_ptr<CacheSeries> cache_series_;
  std::once_flag zmq_access_once_;
  std::atomic<CounterFamily*> zmq_refused_{nullptr};

  SeriesCache<RequestSeries> request_series_;
  SeriesCache<InferenceSeries> inference_series_;
  SeriesCache<BatchSeries> batch_series_;

  std::atomic<uint64_t> requests_total_{0};
  std::atomic<uint64_t> errors_total_{0};
  RequestWindow window_;

  mutable std::mutex provider_mutex_;
  std::shared_ptr<const DeviceSnapshotProvider> provider_;
};

}  // namespace accel
