// ServiceContext: what the API front ends share. Built by `accel serve` (src/app/serve_command.cc); every
// pointer outlives the front ends.
#pragma once

#include <atomic>
#include <string>
#include <vector>

#include "api/access_control.h"
#include "api/infer_request_parser.h"
#include "core/clock.h"
#include "engines/engine.h"
#include "pipeline/detection_pipeline.h"
#include "scheduler/scheduler.h"

namespace accel {

class AccelMetrics;
class ModelControl;

// What start-up found for one engine kind, for /ai/hardware, /ai/engines and `accel devices`.
struct EngineKindReport {
  std::string kind;
  bool built = false;
  bool enabled = false;
  std::string reason;  // why not built / not enabled / no device; empty when devices were found
  std::vector<DeviceInfo> devices;
  std::vector<std::string> create_errors;  // devices found but whose engine could not be created
};

struct ServiceContext {
  Scheduler* scheduler = nullptr;
  DetectionPipeline* pipeline = nullptr;
  AccelMetrics* metrics = nullptr;  // may be null (tests)
  // The gate for loading and unloading models at run time (repository API, zmq upload); null: models are
  // fixed at start-up (tests that build a bare context).
  ModelControl* model_control = nullptr;
  // The model repository the service was started with ("" when none): front ends that look a model up by a
  // client's name (Frigate's zmq handshake) also see the models it holds but has not loaded.
  std::string models_dir;
  std::vector<EngineKindReport> engine_reports;
  std::string default_engine = "auto";
  AccessPolicy access;  // keys for every front end (access_control.h)
  std::string validation_image;
  std::string version;
  SteadyTime started;
  // How /ai/infer and /v1/vision/* read requests (defaults, limits, engine kinds a client may name). Built
  // once when the service is assembled (MakeInferParseOptions), not per request.
  InferParseOptions infer_options;
  // Predictions one DeepStack / CodeProject.AI response carries unless the request asks otherwise
  // (max_results); 0: no limit. Frigate's deepstack plugin writes them into a fixed 20-row array.
  int deepstack_max_predictions = 20;
  // Set once a graceful stop has begun (Service::Drain); null: never (tests that build a bare context).
  // Readiness answers false from then on, so that balancers and Kubernetes send no new work.
  const std::atomic<bool>* draining = nullptr;
  bool Draining() const { return draining != nullptr && draining->load(std::memory_order_relaxed); }
};

}  // namespace accel
