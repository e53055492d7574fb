// Request metrics for every front end (seed API, DeepStack, KServe HTTP and gRPC, Frigate zmq): one place
// that turns a finished request into accel_requests_total / accel_request_duration_seconds, so the label
// rules (only loaded models become label values) hold everywhere.
#pragma once

#include <string>
#include <string_view>

#include "api/service_context.h"
#include "core/clock.h"
#include "core/status.h"
#include "pipeline/detection_pipeline.h"

namespace accel {

// Records a finished request of front end `api` ("ai", "deepstack", "kserve_http", "kserve_grpc", "zmq").
// `model` may be anything a client sent: names of models that are not loaded are recorded as "unknown".
// Any thread; no-op when context.metrics is null.
void RecordApiRequest(const ServiceContext& context, std::string_view api, const std::string& model,
                      const std::string& device, int http_status, SteadyTime started);

// The same for a finished detection: model and device of a success (200), the status code of a failure.
void RecordDetection(const ServiceContext& context, std::string_view api,
                     const StatusOr<DetectionResult>& result, SteadyTime started);

}  // namespace accel
