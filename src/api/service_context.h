// ServiceContext: what the API front ends share. Built by `accel serve` (src/app/serve_command.cc); every
// pointer outlives the front ends.
#pragma once

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
  std::vector<EngineKindReport> engine_reports;
  std::string default_engine = "auto";
  AccessPolicy access;  // keys for every front end (access_control.h)
  std::string validation_image;
  std::string version;
  SteadyTime started;
  // How /ai/infer and /v1/vision/* read requests (defaults, limits, engine kinds a client may name). Built
  // once when the service is assembled (MakeInferParseOptions), not per request.
  InferParseOptions infer_options;
};

}  // namespace accel
