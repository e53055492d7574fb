// `accel serve`: assembles engines, scheduler, pipeline and front ends, then serves until SIGINT/SIGTERM.
#include <csignal>
#include <fstream>
#include <iostream>
#include <thread>

#include "api/ai_api.h"
#include "api/deepstack_api.h"
#include "api/http_router.h"
#include "api/http_server.h"
#include "api/kserve_grpc_server.h"
#include "api/kserve_http_api.h"
#include "api/observability_api.h"
#include "api/zmq_detector_server.h"
#include "app/app_config.h"
#include "app/commands.h"
#include "app/service_builder.h"
#include "core/logging.h"
#include "core/thread_pool.h"
#include "metrics/accel_metrics.h"
#include "pipeline/detection_pipeline.h"

namespace accel {

int RunServeCommand(const std::vector<std::string>& args) {
  for (const auto& a : args)
    if (a == "--help" || a == "-h") {
      std::cout << ServeUsage();
      return 0;
    }
  auto parsed = ParseServeConfig(args);
  if (!parsed.ok()) {
    std::cerr << "accel serve: " << parsed.status().message() << "\n";
    return 2;
  }
  const ServeConfig config = std::move(parsed).value();
  LogLevel level;
  if (!ParseLogLevel(config.log_level, &level)) {
    std::cerr << "accel serve: LOG_LEVEL must be debug, info, warn or error\n";
    return 2;
  }
  SetLogLevel(level);

  // Block the stop signals in every thread; the main thread waits for them with sigwait.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  ACCEL_LOG(kInfo, "serve") << "accel " << ACCEL_VERSION << " starting; models from " << config.models_dir;
  EngineRegistry registry;
  BuiltinEngineConfig engine_config;
  engine_config.sim_devices = config.sim_devices;
  engine_config.torch_cpu_device = config.torch_cpu_device;
  if (Status s = RegisterBuiltinEngines(registry, engine_config); !s.ok()) {
    std::cerr << "accel serve: " << s.message() << "\n";
    return 2;
  }
  // Metrics exist before the scheduler so that its observer can feed them from the first batch.
  AccelMetrics::Options metrics_options;
  metrics_options.version = ACCEL_VERSION;
  AccelMetrics metrics(metrics_options);
  SchedulerOptions scheduler_options = MakeSchedulerOptions(config);
  scheduler_options.observer.on_batch = [&metrics](const BatchObservation& b) {
    metrics.RecordBatch(b.model, b.device->id, b.device->kind, b.device->simulated, b.batch_size);
  };
  scheduler_options.observer.on_item = [&metrics](const ItemObservation& i) {
    metrics.RecordInference(i.model, i.device->id, i.device->kind, i.device->simulated, i.queue_ms / 1000.0,
                            i.compute_ms / 1000.0);
  };
  Scheduler scheduler(scheduler_options);
  ServiceContext context;
  context.scheduler = &scheduler;
  context.engine_reports = ProbeAndCreateDevices(config, registry, &scheduler);
  if (scheduler.Devices().empty())
    ACCEL_LOG(kError, "serve") << "no device could be started; every inference will answer 503";
  auto loaded = LoadModelRepository(config, scheduler);
  if (!loaded.ok()) {
    std::cerr << "accel serve: " << loaded.status().message() << "\n";
    return 2;
  }
  if (!scheduler.FindModel(config.default_model))
    ACCEL_LOG(kWarn, "serve")
        << "default model '" << config.default_model
        << "' is not loaded; requests that name no model will get 404 (run scripts/setup?)";

  ThreadPool cpu_pool(static_cast<int>(std::max(2u, std::thread::hardware_concurrency())));
  ImageLimits limits;
  limits.max_width = config.max_image_width;
  limits.max_height = config.max_image_height;
  limits.max_pixels = config.max_image_pixels;
  DetectionPipeline pipeline(&scheduler, &cpu_pool, config.default_model, limits);
  context.pipeline = &pipeline;
  context.default_engine = config.default_engine;
  context.api_key = config.api_key;
  context.validation_image = config.validation_image;
  context.version = ACCEL_VERSION;
  context.started = Clock::Real()->Now();

  context.metrics = &metrics;

  HttpRouter router;
  RegisterObservabilityRoutes(router, context);
  RegisterAiRoutes(router, context);
  RegisterDeepStackRoutes(router, context);
  KServeBackend kserve(context, KServeBackend::Options{config.models_dir, 0.4f});
  RegisterKServeRoutes(router, context, kserve);

  HttpServer::Options http_options;
  http_options.host = config.host;
  http_options.port = config.port;
  http_options.io_threads = config.io_threads;
  http_options.max_body_bytes = config.max_body_bytes;
  HttpServer server(http_options, router.AsHandler());
  if (Status s = server.Start(); !s.ok()) {
    ACCEL_LOG(kError, "serve") << s.message();
    scheduler.Shutdown();
    return 1;
  }
  // Protocol front ends (KServe gRPC, Frigate zmq): a port that cannot be bound is fatal, like HTTP's.
  KServeGrpcServer::Options grpc_options{config.host, config.grpc_port, 64 << 20};
  if (!config.grpc_listen.empty()) grpc_options.listen_addresses.push_back(config.grpc_listen);
  grpc_options.shared_memory = config.grpc_shared_memory;
  KServeGrpcServer grpc_server(context, kserve, grpc_options);
  ZmqDetectorServer zmq_server(context, {.endpoint = config.zmq_endpoint,
                                         .bgr = config.zmq_pixel_format == "bgr",
                                         .labelmap_path = config.zmq_labelmap,
                                         .deadline_ms = config.zmq_timeout_ms,
                                         .max_message_bytes = int64_t{config.zmq_max_message_mb} << 20});
  Status protocols_started = Status::Ok();
  if (config.grpc_port >= 0 || !config.grpc_listen.empty()) protocols_started = grpc_server.Start();
  if (protocols_started.ok() && !config.zmq_endpoint.empty()) protocols_started = zmq_server.Start();
  if (!protocols_started.ok()) {
    ACCEL_LOG(kError, "serve") << protocols_started.message();
    zmq_server.Stop();
    grpc_server.Stop();
    server.Stop();
    scheduler.Shutdown();
    return 1;
  }
  if (config.grpc_port >= 0 && !config.grpc_port_file.empty())
    std::ofstream(config.grpc_port_file) << grpc_server.port() << "\n";
  // Written last: its presence tells scripts and tests that every front end is up.
  if (!config.port_file.empty()) std::ofstream(config.port_file) << server.port() << "\n";
  ACCEL_LOG(kInfo, "serve") << "listening on http://" << config.host << ":" << server.port()
                            << " (dashboard /, seed API /ai/*, DeepStack /v1/vision/detection)";

  int received = 0;
  sigwait(&signals, &received);
  ACCEL_LOG(kInfo, "serve") << "signal " << received << " received, stopping";
  zmq_server.Stop();
  grpc_server.Stop();
  server.Stop();
  scheduler.Shutdown();
  ACCEL_LOG(kInfo, "serve") << "stopped";
  return 0;
}

}  // namespace accel
