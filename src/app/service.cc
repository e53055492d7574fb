#include "app/service.h"

#include <algorithm>
#include <fstream>
#include <thread>

#include "api/ai_api.h"
#include "api/deepstack_api.h"
#include "api/http_router.h"
#include "api/http_server.h"
#include "api/kserve_grpc_server.h"
#include "api/kserve_http_api.h"
#include "api/model_control.h"
#include "api/observability_api.h"
#include "api/sse_hub.h"
#include "api/streams_api.h"
#include "api/zmq_detector_server.h"
#include "cache/result_cache.h"
#include "core/logging.h"
#include "core/model_repository.h"
#include "core/thread_pool.h"
#include "metrics/accel_metrics.h"
#include "pipeline/detection_pipeline.h"
#include "streams/mqtt_sink.h"
#include "streams/redis_stream_sink.h"
#include "streams/stream_manager.h"

namespace accel {
namespace {

// Whether `config` lets engines of `kind` be created; when not, *why_not says which setting said no.
bool KindEnabled(const ServeConfig& config, const std::string& kind, std::string* why_not) {
  if (!config.engines.empty() &&
      std::find(config.engines.begin(), config.engines.end(), kind) == config.engines.end()) {
    *why_not = "not in --engines / ENGINES";
    return false;
  }
  if (auto it = config.engine_enabled.find(kind); it != config.engine_enabled.end() && !it->second) {
    *why_not = "disabled by --support-" + kind + "=false";
    return false;
  }
  return true;
}

// The result cache `config` asks for, its events feeding `metrics`; null when the cache is off.
std::unique_ptr<ResultCache> MakeResultCache(const ServeConfig& config, AccelMetrics* metrics) {
  if (!config.cache_enabled) {
    if (!config.redis_url.empty())
      ACCEL_LOG(kInfo, "cache") << "REDIS_URL is set but the result cache is off (--cache / CACHE_ENABLED)";
    return nullptr;
  }
  ResultCache::Options options;
  options.memory_bytes = size_t{static_cast<unsigned>(config.cache_memory_mb)} << 20;
  options.ttl_s = config.cache_ttl_s;
  options.redis_url = config.redis_url;
  options.redis_lookup_timeout = std::chrono::milliseconds(config.cache_lookup_timeout_ms);
  CacheObserver& o = options.observer;
  o.on_lookup = [metrics](std::string_view outcome) { metrics->RecordCacheLookup(outcome); };
  o.on_level_latency = [metrics](std::string_view level, double s) {
    metrics->RecordCacheLevelLatency(level, s);
  };
  o.on_error = [metrics](std::string_view kind) { metrics->RecordCacheError(kind); };
  o.on_evictions = [metrics](size_t n) { metrics->RecordCacheEvictions(n); };
  o.on_memory_usage = [metrics](size_t bytes, size_t entries) { metrics->SetCacheMemory(bytes, entries); };
  metrics->EnableCacheMetrics();
  ACCEL_LOG(kInfo, "cache") << "result cache on: " << config.cache_memory_mb << " MB in memory, TTL "
                            << config.cache_ttl_s << " s, "
                            << (config.redis_url.empty()
                                    ? std::string("no Redis (memory only)")
                                    : "Redis lookups within " +
                                          std::to_string(config.cache_lookup_timeout_ms) + " ms");
  return std::make_unique<ResultCache>(std::move(options));
}

}  // namespace

SchedulerOptions MakeSchedulerOptions(const ServeConfig& config) {
  SchedulerOptions options;
  options.load_balancing = config.load_balancing;
  options.round_robin = config.round_robin;
  options.fallback_engine = config.fallback_engine;
  options.device_priority = config.device_priority;
  options.queue_capacity = config.queue_capacity;
  options.execution_timeout = Micros(static_cast<int64_t>(config.execution_timeout_ms) * 1000);
  return options;
}

std::vector<EngineKindReport> ProbeAndCreateDevices(const ServeConfig& config, EngineRegistry& registry,
                                                    Scheduler* scheduler) {
  std::vector<EngineKindReport> reports;
  for (EngineFactory* factory : registry.factories()) {
    EngineKindReport report;
    report.kind = factory->kind();
    report.built = true;
    std::string why_not;
    report.enabled = KindEnabled(config, report.kind, &why_not);
    ProbeResult probe = factory->Probe();
    report.devices = probe.devices;
    if (!report.enabled) {
      report.reason = why_not;
      ACCEL_LOG(kInfo, "engines") << report.kind << ": " << probe.devices.size() << " device(s) found but "
                                  << why_not;
    } else if (probe.devices.empty()) {
      report.reason = probe.unavailable_reason.empty() ? "no device found" : probe.unavailable_reason;
      ACCEL_LOG(kInfo, "engines") << report.kind << ": no device (" << report.reason << ")";
    }
    if (report.enabled && scheduler) {
      for (const DeviceInfo& device : probe.devices) {
        auto options = config.engine_options.find(report.kind);
        auto engine = factory->Create(
            device, options == config.engine_options.end() ? EngineOptions{} : options->second);
        if (!engine.ok()) {
          report.create_errors.push_back(device.id + ": " + engine.status().message());
          ACCEL_LOG(kWarn, "engines") << "cannot start " << device.id << ": " << engine.status().ToString();
          continue;
        }
        // What an engine's options mean for batching (e.g. the hailo batch size) it reports itself in
        // capabilities().max_batch, which the scheduler applies.
        Status added = scheduler->AddDevice(std::move(engine).value());
        if (!added.ok()) {
          report.create_errors.push_back(device.id + ": " + added.message());
          ACCEL_LOG(kWarn, "engines") << "cannot add " << device.id << ": " << added.ToString();
          continue;
        }
        ACCEL_LOG(kInfo, "engines") << "device " << device.id << " (" << device.name << ")"
                                    << (device.simulated ? " [SIMULATED]" : "")
                                    << (device.test_only ? " [TEST MODE, not a GPU]" : "") << " ready";
      }
      if (!report.create_errors.empty() && report.reason.empty())
        report.reason = report.create_errors.front();
    }
    reports.push_back(std::move(report));
  }
  for (const auto& missing : registry.unavailable()) {
    EngineKindReport report;
    report.kind = missing.kind;
    report.reason = missing.reason;
    ACCEL_LOG(kInfo, "engines") << missing.kind << ": " << missing.reason;
    reports.push_back(std::move(report));
  }
  return reports;
}

StatusOr<int> LoadModelRepository(const ServeConfig& config, Scheduler& scheduler) {
  ACCEL_ASSIGN_OR_RETURN(auto entries, ScanModelRepository(config.models_dir));
  int loaded = 0;
  for (auto& entry : entries) {
    if (!entry.config.ok()) {
      ACCEL_LOG(kWarn, "models") << "skipping " << entry.name << ": " << entry.config.status().message();
      continue;
    }
    for (const auto& warning : entry.config->warnings)
      ACCEL_LOG(kWarn, "models") << entry.config->name << ": " << warning;
    Status s = scheduler.LoadModel(*entry.config);
    if (!s.ok()) {
      ACCEL_LOG(kWarn, "models") << "model " << entry.name << " not loaded: " << s.message();
      continue;
    }
    ++loaded;
    std::string where;
    for (const auto& m : scheduler.Models())
      if (m.name == entry.config->name)
        for (const auto& d : m.devices) where += (where.empty() ? "" : ", ") + d;
    ACCEL_LOG(kInfo, "models") << "model " << entry.config->name << " loaded on " << where;
  }
  if (loaded == 0) ACCEL_LOG(kWarn, "models") << "no model loaded from " << config.models_dir;
  return loaded;
}

// Request bodies at least this large are parsed on FrontEnds::parse_pool instead of an I/O thread: a
// multi-MiB JSON body takes tens of milliseconds to parse, which an I/O thread's other connections (health
// checks among them) would otherwise wait out. Image uploads of this size are usual and cheap to hand over.
constexpr size_t kOffloadBodyBytes = 64 << 10;

struct Service::FrontEnds {
  HttpRouter router;
  std::unique_ptr<ThreadPool> parse_pool;
  std::unique_ptr<HttpServer> http;
  std::unique_ptr<KServeGrpcServer> grpc;
  std::unique_ptr<ZmqDetectorServer> zmq;

  void Stop() {
    if (zmq) zmq->Stop();
    if (grpc) grpc->Stop();
    if (http) http->Stop();
    parse_pool.reset();  // runs what is queued; their responders are no-ops once the server stopped
  }
};

Service::Service(ServeConfig config) : config_(std::move(config)) {}

Service::~Service() { Stop(); }

StatusOr<std::unique_ptr<Service>> Service::Create(const ServeConfig& config,
                                                   std::vector<std::unique_ptr<Engine>> engines) {
  std::unique_ptr<Service> service(new Service(config));
  Service& s = *service;
  BuiltinEngineConfig engine_config;
  engine_config.sim_devices = config.sim_devices;
  engine_config.torch_cpu_device = config.torch_cpu_device;
  ACCEL_RETURN_IF_ERROR(RegisterBuiltinEngines(s.registry_, engine_config));

  // Metrics exist before the scheduler so that its observer can feed them from the first batch.
  AccelMetrics::Options metrics_options;
  metrics_options.version = ACCEL_VERSION;
  s.metrics_ = std::make_unique<AccelMetrics>(metrics_options);
  SchedulerOptions scheduler_options = MakeSchedulerOptions(config);
  AccelMetrics* metrics = s.metrics_.get();
  scheduler_options.observer.on_batch = [metrics](const BatchObservation& b) {
    metrics->RecordBatch(b.model, b.device->id, b.device->kind, b.device->simulated, b.batch_size);
  };
  scheduler_options.observer.on_item = [metrics](const ItemObservation& i) {
    metrics->RecordInference(i.model, i.device->id, i.device->kind, i.device->simulated, i.queue_ms / 1000.0,
                             i.compute_ms / 1000.0);
  };
  s.scheduler_ = std::make_unique<Scheduler>(scheduler_options);

  if (engines.empty()) {
    s.context_.engine_reports = ProbeAndCreateDevices(config, s.registry_, s.scheduler_.get());
  } else {
    for (auto& engine : engines) ACCEL_RETURN_IF_ERROR(s.scheduler_->AddDevice(std::move(engine)));
  }
  if (s.scheduler_->Devices().empty())
    ACCEL_LOG(kError, "service") << "no device could be started; every inference will answer 503";
  ACCEL_ASSIGN_OR_RETURN(s.models_loaded_, LoadModelRepository(config, *s.scheduler_));
  if (!s.scheduler_->FindModel(config.default_model))
    ACCEL_LOG(kWarn, "service") << "default model '" << config.default_model
                                << "' is not loaded; requests that name no model will get 404 (run "
                                   "scripts/setup?)";

  s.cpu_pool_ =
      std::make_unique<ThreadPool>(static_cast<int>(std::max(2u, std::thread::hardware_concurrency())));
  ImageLimits limits;
  limits.max_width = config.max_image_width;
  limits.max_height = config.max_image_height;
  limits.max_pixels = config.max_image_pixels;
  s.cache_ = MakeResultCache(config, s.metrics_.get());
  s.pipeline_ = std::make_unique<DetectionPipeline>(s.scheduler_.get(), s.cpu_pool_.get(),
                                                    config.default_model, limits, s.cache_.get());
  s.model_control_ = std::make_unique<ModelControl>(s.scheduler_.get());
  ServiceContext& ctx = s.context_;
  ctx.scheduler = s.scheduler_.get();
  ctx.model_control = s.model_control_.get();
  ctx.models_dir = config.models_dir;
  ctx.deepstack_max_predictions = config.deepstack_max_predictions;
  ctx.pipeline = s.pipeline_.get();
  ctx.metrics = s.metrics_.get();
  ctx.default_engine = config.default_engine;
  ctx.access = AccessPolicy{.api_key = config.api_key,
                            .admin_key = config.admin_key,
                            .open_observability = config.open_observability};
  ctx.validation_image = config.validation_image;
  ctx.version = ACCEL_VERSION;
  ctx.started = Clock::Real()->Now();
  ctx.draining = &s.draining_;
  ctx.infer_options = MakeInferParseOptions(ctx);
  s.kserve_ = std::make_unique<KServeBackend>(
      ctx, KServeBackend::Options{.models_dir = config.models_dir,
                                  .default_threshold = kDefaultThreshold,
                                  .repository_control = config.repository_control});

  s.sse_hub_ = std::make_unique<SseHub>(SseHub::Options{});
  StreamManagerOptions stream_options;
  stream_options.streams_file = config.streams_file;
  stream_options.pipeline = s.pipeline_.get();
  stream_options.scheduler = s.scheduler_.get();
  stream_options.engines = ctx.infer_options.known_engines;
  stream_options.sse = std::shared_ptr<EventSink>(s.sse_hub_.get(), [](EventSink*) {});  // owned here
  stream_options.metrics = &s.metrics_->registry();
  if (!config.mqtt_url.empty()) {
    MqttSinkOptions mqtt;
    mqtt.url = config.mqtt_url;
    mqtt.topic_prefix = config.mqtt_topic_prefix;
    mqtt.discovery_prefix = config.mqtt_discovery_prefix;
    auto sink = MakeMqttSink(std::move(mqtt));
    if (!sink.ok()) return sink.status().WithContext("--mqtt-url / MQTT_URL");
    stream_options.mqtt = std::move(sink).value();
  }
  if (!config.events_redis_url.empty()) {
    RedisStreamSinkOptions redis;
    redis.url = config.events_redis_url;
    redis.maxlen = static_cast<size_t>(config.events_redis_maxlen);
    auto sink = MakeRedisStreamSink(std::move(redis));
    if (!sink.ok()) return sink.status().WithContext("--events-redis-url / EVENTS_REDIS_URL");
    stream_options.redis = std::move(sink).value();
  }
  s.streams_ = std::make_unique<StreamManager>(std::move(stream_options));
  ACCEL_RETURN_IF_ERROR(s.streams_->Start());
  return service;
}

Status Service::StartFrontEnds() {
  if (front_ends_) return FailedPrecondition("front ends already started");
  front_ends_ = std::make_unique<FrontEnds>();
  FrontEnds& f = *front_ends_;
  f.parse_pool = std::make_unique<ThreadPool>(2);
  f.router.SetAccessPolicy(&context_.access);
  f.router.SetDeniedObserver([metrics = metrics_.get()](const Status& refusal) {
    metrics->RecordAccessDenied("http", HttpStatusFor(refusal.code()));
  });
  f.router.SetOffload(f.parse_pool.get(), kOffloadBodyBytes);
  RegisterObservabilityRoutes(f.router, context_);
  RegisterAiRoutes(f.router, context_);
  RegisterDeepStackRoutes(f.router, context_);
  RegisterKServeRoutes(f.router, context_, *kserve_);
  RegisterStreamsRoutes(f.router, *streams_, *sse_hub_);

  HttpServer::Options http_options;
  http_options.host = config_.host;
  http_options.port = config_.port;
  http_options.io_threads = config_.io_threads;
  http_options.max_body_bytes = config_.max_body_bytes;
  http_options.max_connections = static_cast<size_t>(config_.max_connections);
  http_options.header_timeout = std::chrono::seconds(config_.header_timeout_s);
  const TlsFiles tls{config_.tls_cert_file, config_.tls_key_file, config_.tls_client_ca_file};
  http_options.tls = tls;
  f.http = std::make_unique<HttpServer>(http_options, f.router.AsHandler());
  Status started = f.http->Start();

  KServeGrpcServer::Options grpc_options{.host = config_.host, .port = config_.grpc_port};
  if (!config_.grpc_listen.empty()) grpc_options.listen_addresses.push_back(config_.grpc_listen);
  grpc_options.shared_memory = config_.grpc_shared_memory;
  grpc_options.shm_max_regions = config_.grpc_shm_max_regions;
  grpc_options.shm_max_bytes = uint64_t{static_cast<unsigned>(config_.grpc_shm_max_mb)} << 20;
  grpc_options.unix_socket_mode = config_.grpc_socket_mode;
  grpc_options.tls = tls;
  const bool grpc_on = config_.grpc_port >= 0 || !config_.grpc_listen.empty();
  if (started.ok() && grpc_on) {
    f.grpc = std::make_unique<KServeGrpcServer>(context_, *kserve_, grpc_options);
    started = f.grpc->Start();
  }
  if (started.ok() && !config_.zmq_endpoint.empty()) {
    f.zmq = std::make_unique<ZmqDetectorServer>(
        context_,
        ZmqDetectorServer::Options{.endpoint = config_.zmq_endpoint,
                                   .model = {},  // the pipeline's default model
                                   .threshold = kDefaultThreshold,
                                   .bgr = config_.zmq_pixel_format == "bgr",
                                   .labelmap_path = config_.zmq_labelmap,
                                   .deadline_ms = config_.zmq_timeout_ms,
                                   .max_message_bytes = int64_t{config_.zmq_max_message_mb} << 20,
                                   .accept_models_dir = config_.zmq_accept_models,
                                   .allow = config_.zmq_allow,
                                   .curve_secret_key_file = config_.zmq_curve_secret_key_file,
                                   .curve_authorized_keys_file = config_.zmq_curve_authorized_keys_file});
    started = f.zmq->Start();
  }
  if (!started.ok()) {
    f.Stop();
    return started;
  }
  if (f.grpc && config_.grpc_port >= 0 && !config_.grpc_port_file.empty())
    std::ofstream(config_.grpc_port_file) << f.grpc->port() << "\n";
  if (!config_.port_file.empty()) std::ofstream(config_.port_file) << f.http->port() << "\n";
  return Status::Ok();
}

bool Service::Drain(std::chrono::milliseconds timeout) {
  draining_.store(true);
  if (!front_ends_ || stopped_) return true;
  FrontEnds& f = *front_ends_;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  ACCEL_LOG(kInfo, "service") << "draining: not ready any more; requests in flight get up to "
                              << timeout.count() / 1000.0 << " s to finish";
  // Watched streams stop first (each within ~1 s, in parallel), and their event clients are let go: a
  // Server-Sent Events response never ends by itself.
  if (streams_) streams_->StopAll();
  if (sse_hub_) sse_hub_->CloseAll();
  if (f.http) f.http->BeginDrain();
  // gRPC's own shutdown closes its listeners, refuses new calls and waits for those in flight up to the
  // deadline; it blocks, so it runs beside the HTTP wait. Stop() later finds the server stopped.
  std::thread grpc_drain;
  if (f.grpc) grpc_drain = std::thread([grpc = f.grpc.get(), timeout] { grpc->Stop(timeout); });
  size_t left = f.http ? f.http->WaitDrained(deadline) : 0;
  if (grpc_drain.joinable()) grpc_drain.join();
  if (left == 0) {
    ACCEL_LOG(kInfo, "service") << "drained: every request in flight was answered";
  } else {
    ACCEL_LOG(kWarn, "service") << "drain timeout: " << left
                                << " HTTP connection(s) still busy or open are closed now";
  }
  return left == 0;
}

void Service::Stop() {
  if (stopped_) return;
  stopped_ = true;
  if (streams_) streams_->StopAll();
  if (sse_hub_) sse_hub_->CloseAll();
  if (front_ends_) front_ends_->Stop();
  // After a drain, requests have had their time (and their connections are closed): batches still on a
  // device are not waited for again, so that the stop stays bounded by the drain timeout.
  if (scheduler_) scheduler_->Shutdown(draining_.load() ? std::optional<Micros>(Micros(0)) : std::nullopt);
  if (cache_) cache_->Stop();
}

int Service::http_port() const { return front_ends_ && front_ends_->http ? front_ends_->http->port() : -1; }

int Service::grpc_port() const { return front_ends_ && front_ends_->grpc ? front_ends_->grpc->port() : -1; }

}  // namespace accel
