#include "metrics/accel_metrics.h"

#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>

namespace accel {

#ifndef ACCEL_VERSION
#define ACCEL_VERSION "unknown"
#endif

namespace {

// Request end to end: a cached answer takes well under a millisecond, a CPU inference tens of ms.
const std::vector<double> kRequestBuckets = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                             0.1,    0.25,  0.5,    1,     2.5,  5,     10};
const std::vector<double> kQueueBuckets = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
                                           0.025,  0.05,    0.1,    0.25,  0.5,    1,     2.5};
const std::vector<double> kComputeBuckets = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                             0.1,    0.25,  0.5,    1,     2.5,  5};
const std::vector<double> kBatchBuckets = {1, 2, 4, 8, 16, 32, 64};

// Process start as Unix time: boot time (/proc/stat btime) + start ticks (/proc/self/stat field 22).
// Falls back to `fallback` when /proc is not readable.
double ProcessStartTime(double fallback) {
  std::ifstream stat_file("/proc/self/stat");
  std::string line;
  if (!std::getline(stat_file, line)) return fallback;
  // The command name (field 2) may hold spaces and parentheses; fields after it follow the last ')'.
  size_t close = line.rfind(')');
  if (close == std::string::npos) return fallback;
  std::istringstream fields(line.substr(close + 2));
  std::string field;
  // Field 3 is the first after ')'; starttime is field 22.
  for (int i = 3; i <= 22 && fields >> field; ++i) {
  }
  double start_ticks = 0;
  try {
    start_ticks = std::stod(field);
  } catch (...) {
    return fallback;
  }
  std::ifstream proc_stat("/proc/stat");
  std::string key;
  double btime = -1;
  while (proc_stat >> key) {
    if (key == "btime") {
      proc_stat >> btime;
      break;
    }
    proc_stat.ignore(1 << 20, '\n');
  }
  long ticks = sysconf(_SC_CLK_TCK);
  if (btime <= 0 || ticks <= 0) return fallback;
  return btime + start_ticks / static_cast<double>(ticks);
}

// Resident set in bytes from /proc/self/statm (second field, pages); -1 when unreadable.
double ResidentBytes() {
  std::ifstream statm("/proc/self/statm");
  double size_pages = 0, resident_pages = -1;
  if (!(statm >> size_pages >> resident_pages)) return -1;
  return resident_pages * static_cast<double>(sysconf(_SC_PAGESIZE));
}

// User + system CPU seconds from /proc/self/stat (fields 14 and 15); -1 when unreadable.
double CpuSeconds() {
  std::ifstream stat_file("/proc/self/stat");
  std::string line;
  if (!std::getline(stat_file, line)) return -1;
  size_t close = line.rfind(')');
  if (close == std::string::npos) return -1;
  std::istringstream fields(line.substr(close + 2));
  std::string field;
  double utime = -1, stime = -1;
  for (int i = 3; i <= 15 && fields >> field; ++i) {
    if (i == 14) utime = std::strtod(field.c_str(), nullptr);
    if (i == 15) stime = std::strtod(field.c_str(), nullptr);
  }
  long ticks = sysconf(_SC_CLK_TCK);
  if (utime < 0 || stime < 0 || ticks <= 0) return -1;
  return (utime + stime) / static_cast<double>(ticks);
}

double UnixNow() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

void AppendKey(std::string& key, std::string_view value) {
  uint32_t n = static_cast<uint32_t>(value.size());
  key.append(reinterpret_cast<const char*>(&n), sizeof(n));
  key.append(value);
}

}  // namespace

std::string_view RequestOutcome(int http_status) {
  if (http_status > 0 && http_status < 400) return "success";
  if (http_status >= 400 && http_status < 500) return "client_error";
  return "server_error";
}

template <typename Bundle>
template <typename Make>
const Bundle& AccelMetrics::SeriesCache<Bundle>::Get(std::initializer_list<std::string_view> values,
                                                     Make make) {
  thread_local std::string key;
  key.clear();
  for (std::string_view v : values) AppendKey(key, v);
  {
    std::shared_lock lock(mutex_);
    auto it = bundles_.find(std::string_view(key));
    if (it != bundles_.end()) return *it->second;
  }
  // Built outside the lock: make() takes the families' own locks. Two threads racing here build the same
  // children (families deduplicate), and the first bundle inserted wins.
  auto bundle = std::make_unique<Bundle>(make());
  std::unique_lock lock(mutex_);
  auto [it, inserted] = bundles_.try_emplace(key, std::move(bundle));
  return *it->second;
}

AccelMetrics::AccelMetrics() : AccelMetrics(Options{}) {}

AccelMetrics::AccelMetrics(Options options)
    : options_(std::move(options)),
      start_steady_(options_.clock->Now()),
      start_time_seconds_(ProcessStartTime(UnixNow())),
      window_(options_.clock, options_.stats_window_seconds) {
  if (options_.version.empty()) options_.version = ACCEL_VERSION;
  MetricRegistry& r = registry_;
  r.AddGauge("accel_build_info", "Build of this Accel binary; the value is always 1.", {"version"})
      ->WithLabels({options_.version})
      ->Set(1);
  requests_ = r.AddCounter("accel_requests_total",
                           "Inference requests answered, by API, model, device and outcome "
                           "(success, client_error, server_error).",
                           {"api", "model", "device", "outcome"});
  request_duration_ = r.AddHistogram("accel_request_duration_seconds",
                                     "End-to-end duration of inference requests, arrival to response.",
                                     {"api", "model"}, kRequestBuckets);
  access_denied_ =
      r.AddCounter("accel_access_denied_total",
                   "Requests refused for want of a valid key, by front end and reason "
                   "(unauthenticated: no key or a wrong one; forbidden: a key without the right).",
                   {"front_end", "reason"});
  inferences_ = r.AddCounter("accel_inferences_total",
                             "Items (images) computed by a device. Simulated devices carry "
                             "simulated=\"true\".",
                             {"model", "device", "engine", "simulated"});
  executions_ = r.AddCounter("accel_executions_total",
                             "Batches executed by a device; inferences / executions is the mean batch size.",
                             {"model", "device", "engine", "simulated"});
  batch_size_ = r.AddHistogram("accel_batch_size", "Items per executed batch.",
                               {"model", "device", "engine", "simulated"}, kBatchBuckets);
  queue_duration_ = r.AddHistogram("accel_queue_duration_seconds",
                                   "Time an item waited from submission to the start of its batch.",
                                   {"model", "device", "engine", "simulated"}, kQueueBuckets);
  compute_duration_ = r.AddHistogram("accel_compute_duration_seconds",
                                     "Execution time of the batch that computed an item, per item.",
                                     {"model", "device", "engine", "simulated"}, kComputeBuckets);
  r.AddCollector([this](ExpositionWriter& out) { CollectDevices(out); });
  r.AddCollector([this](ExpositionWriter& out) { CollectProcess(out); });
}

void AccelMetrics::RecordAccessDenied(std::string_view front_end, int status) {
  access_denied_->WithLabels({front_end, status == 403 ? "forbidden" : "unauthenticated"})->Increment();
}

void AccelMetrics::RecordRequest(std::string_view api, std::string_view model, std::string_view device,
                                 int http_status, double total_seconds) {
  const RequestSeries& s = request_series_.Get({api, model, device}, [&] {
    // All three outcomes are created together so that error rates read 0, not "no data".
    return RequestSeries{requests_->WithLabels({api, model, device, "success"}),
                         requests_->WithLabels({api, model, device, "client_error"}),
                         requests_->WithLabels({api, model, device, "server_error"}),
                         request_duration_->WithLabels({api, model})};
  });
  std::string_view outcome = RequestOutcome(http_status);
  bool error = outcome != "success";
  if (!error) {
    s.success->Increment();
  } else if (outcome == "client_error") {
    s.client_error->Increment();
  } else {
    s.server_error->Increment();
  }
  s.duration->Observe(total_seconds);
  requests_total_.fetch_add(1, std::memory_order_relaxed);
  if (error) errors_total_.fetch_add(1, std::memory_order_relaxed);
  window_.Record(total_seconds, error);
}

void AccelMetrics::RecordInference(std::string_view model, std::string_view device, std::string_view engine,
                                   bool simulated, double queue_seconds, double compute_seconds) {
  std::string_view sim = simulated ? "true" : "false";
  const InferenceSeries& s = inference_series_.Get({model, device, engine, sim}, [&] {
    return InferenceSeries{inferences_->WithLabels({model, device, engine, sim}),
                           queue_duration_->WithLabels({model, device, engine, sim}),
                           compute_duration_->WithLabels({model, device, engine, sim})};
  });
  s.inferences->Increment();
  s.queue->Observe(queue_seconds);
  s.compute->Observe(compute_seconds);
}

void AccelMetrics::RecordBatch(std::string_view model, std::string_view device, std::string_view engine,
                               bool simulated, int batch_size) {
  std::string_view sim = simulated ? "true" : "false";
  const BatchSeries& s = batch_series_.Get({model, device, engine, sim}, [&] {
    return BatchSeries{executions_->WithLabels({model, device, engine, sim}),
                       batch_size_->WithLabels({model, device, engine, sim})};
  });
  s.executions->Increment();
  s.batch_size->Observe(batch_size);
}

void AccelMetrics::EnableCacheMetrics() {
  std::call_once(cache_once_, [this] {
    auto series = std::make_unique<CacheSeries>();
    series->hits =
        registry_.AddCounter("accel_cache_hits_total",
                             "Requests answered from the result cache, by where the result came from "
                             "(memory, redis, inflight: an identical request computed at the same time).",
                             {"level"}, 8);
    for (std::string_view level : {"memory", "redis", "inflight"}) series->hits->WithLabels({level});
    series->misses =
        registry_
            .AddCounter("accel_cache_misses_total", "Requests looked up in the result cache and not found.")
            ->WithLabels({});
    series->bypass = registry_
                         .AddCounter("accel_cache_bypass_total",
                                     "Requests that did not consult the result cache (they opted out).")
                         ->WithLabels({});
    series->errors = registry_.AddCounter("accel_cache_errors_total",
                                          "Result cache failures by kind: connect, auth, io, command, "
                                          "timeout (a Redis lookup answered as a miss "
                                          "at its deadline), dropped (a Redis store refused by a full "
                                          "queue), decode (an unreadable stored value).",
                                          {"kind"}, 16);
    series->evictions = registry_
                            .AddCounter("accel_cache_evictions_total",
                                        "Entries the in-process cache dropped to stay within its size.")
                            ->WithLabels({});
    series->bytes =
        registry_.AddGauge("accel_cache_bytes", "Bytes the in-process result cache holds.")->WithLabels({});
    series->entries = registry_.AddGauge("accel_cache_entries", "Entries the in-process result cache holds.")
                          ->WithLabels({});
    series->lookup_duration = registry_.AddHistogram(
        "accel_cache_lookup_duration_seconds",
        "Time one cache level took to answer a lookup (memory, redis).", {"level"},
        {0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025}, 4);
    // Every kind and level at 0 from the start, so that rates read 0 rather than "no data".
    for (std::string_view kind : {"connect", "auth", "io", "command", "timeout", "dropped", "decode"})
      series->errors->WithLabels({kind});
    for (std::string_view level : {"memory", "redis"}) series->lookup_duration->WithLabels({level});
    cache_series_ = std::move(series);
    cache_.store(cache_series_.get(), std::memory_order_release);
  });
}

void AccelMetrics::RecordCacheLookup(std::string_view outcome) {
  EnableCacheMetrics();
  const CacheSeries* c = cache_.load(std::memory_order_acquire);
  if (outcome == "miss") return c->misses->Increment();
  if (outcome == "bypass") return c->bypass->Increment();
  c->hits->WithLabels({outcome})->Increment();
}

void AccelMetrics::RecordCacheLevelLatency(std::string_view level, double seconds) {
  EnableCacheMetrics();
  cache_.load(std::memory_order_acquire)->lookup_duration->WithLabels({level})->Observe(seconds);
}

void AccelMetrics::RecordCacheError(std::string_view kind) {
  EnableCacheMetrics();
  cache_.load(std::memory_order_acquire)->errors->WithLabels({kind})->Increment();
}

void AccelMetrics::RecordCacheEvictions(uint64_t evicted) {
  EnableCacheMetrics();
  cache_.load(std::memory_order_acquire)->evictions->Increment(static_cast<double>(evicted));
}

void AccelMetrics::SetCacheMemory(uint64_t bytes, uint64_t entries) {
  EnableCacheMetrics();
  const CacheSeries* c = cache_.load(std::memory_order_acquire);
  c->bytes->Set(static_cast<double>(bytes));
  c->entries->Set(static_cast<double>(entries));
}

void AccelMetrics::EnableZmqAccessMetrics() {
  std::call_once(zmq_access_once_, [this] {
    CounterFamily* family = registry_.AddCounter(
        "accel_zmq_refused_connections_total",
        "Connection attempts the zmq front end refused, by reason: address, key or handshake.", {"reason"});
    for (std::string_view reason : {"address", "key", "handshake"}) family->WithLabels({reason});
    zmq_refused_.store(family, std::memory_order_release);
  });
}

void AccelMetrics::RecordZmqRefused(std::string_view reason) {
  EnableZmqAccessMetrics();
  zmq_refused_.load(std::memory_order_acquire)->WithLabels({reason})->Increment();
}

void AccelMetrics::SetDeviceSnapshotProvider(DeviceSnapshotProvider provider) {
  auto shared = provider ? std::make_shared<const DeviceSnapshotProvider>(std::move(provider)) : nullptr;
  std::lock_guard lock(provider_mutex_);
  provider_ = std::move(shared);
}

std::string AccelMetrics::Render() const { return registry_.Render(); }

void AccelMetrics::CollectDevices(ExpositionWriter& out) const {
  std::shared_ptr<const DeviceSnapshotProvider> provider;
  {
    std::lock_guard lock(provider_mutex_);
    provider = provider_;
  }
  if (!provider) return;
  // The provider runs without our lock: it may take the scheduler's locks.
  std::vector<DeviceGaugeSnapshot> devices = (*provider)();
  if (devices.empty()) return;

  struct GaugeSpec {
    const char* name;
    const char* help;
    double (*value)(const DeviceGaugeSnapshot&);  // < 0: omitted for that device
  };
  static const GaugeSpec kSpecs[] = {
      {"accel_device_health_state", "Device health: 0 ready, 1 degraded, 2 failed or ejected.",
       [](const DeviceGaugeSnapshot& d) { return static_cast<double>(d.health_state); }},
      {"accel_device_up", "1 when the device is in rotation (ready or degraded), 0 when failed or ejected.",
       [](const DeviceGaugeSnapshot& d) { return d.health_state >= 2 ? 0.0 : 1.0; }},
      {"accel_queue_depth", "Items waiting in the device's queue.",
       [](const DeviceGaugeSnapshot& d) { return static_cast<double>(d.queue_depth); }},
      {"accel_inflight_requests", "Items submitted to the device and not yet completed.",
       [](const DeviceGaugeSnapshot& d) { return static_cast<double>(d.in_flight); }},
      {"accel_device_temperature_celsius", "Device temperature, where the engine reports it.",
       [](const DeviceGaugeSnapshot& d) { return d.temperature_c; }},
      {"accel_device_power_watts", "Device power draw, where the engine reports it.",
       [](const DeviceGaugeSnapshot& d) { return d.power_w; }},
      {"accel_device_utilization_ratio", "Device utilisation from 0 to 1, where the engine reports it.",
       [](const DeviceGaugeSnapshot& d) {
         return d.utilization_percent < 0 ? -1.0 : d.utilization_percent / 100.0;
       }},
      {"accel_device_memory_used_bytes", "Device memory in use, where the engine reports it.",
       [](const DeviceGaugeSnapshot& d) { return d.memory_used_bytes; }},
      {"accel_device_memory_total_bytes", "Device memory size, where the engine reports it.",
       [](const DeviceGaugeSnapshot& d) { return d.memory_total_bytes; }},
  };
  for (const GaugeSpec& spec : kSpecs) {
    bool begun = false;
    for (const DeviceGaugeSnapshot& d : devices) {
      double v = spec.value(d);
      if (v < 0 || v != v) continue;
      if (!begun) {
        out.BeginFamily(spec.name, spec.help, MetricType::kGauge);
        begun = true;
      }
      out.Sample(spec.name,
                 {{"device", d.device}, {"engine", d.engine}, {"simulated", d.simulated ? "true" : "false"}},
                 v);
    }
  }
}

void AccelMetrics::CollectProcess(ExpositionWriter& out) const {
  out.SingleSample("accel_process_start_time_seconds", "Start time of the process since the Unix epoch.",
                   MetricType::kGauge, {}, start_time_seconds_);
  double resident = ResidentBytes();
  if (resident >= 0) {
    out.SingleSample("accel_process_resident_memory_bytes", "Resident memory of the process.",
                     MetricType::kGauge, {}, resident);
  }
  double cpu = CpuSeconds();
  if (cpu >= 0) {
    out.SingleSample("accel_process_cpu_seconds_total", "User and system CPU time the process has used.",
                     MetricType::kCounter, {}, cpu);
  }
}

AccelMetrics::Summary AccelMetrics::Summarize() const {
  Summary s;
  s.uptime_seconds = std::chrono::duration<double>(options_.clock->Now() - start_steady_).count();
  s.requests_total = requests_total_.load(std::memory_order_relaxed);
  s.errors_total = errors_total_.load(std::memory_order_relaxed);
  s.window = window_.Read();
  return s;
}

}  // namespace accel
