// The seed API: POST /ai/infer, GET /ai/health, /ai/engines, /ai/hardware, /ai/models, POST /ai/validate.
#pragma once

#include "api/http_router.h"
#include "api/infer_request_parser.h"
#include "api/service_context.h"

namespace accel {

// `context` must outlive the router.
void RegisterAiRoutes(HttpRouter& router, ServiceContext& context);

// Parse options shared by the image front ends (limits, engine kinds a client may name).
InferParseOptions MakeInferParseOptions(const ServiceContext& context, float default_threshold);

// Records a finished API request in the metrics (no-op when context.metrics is null).
void RecordApiRequest(const ServiceContext& context, std::string_view api, const std::string& model,
                      const std::string& device, int http_status, SteadyTime started);

}  // namespace accel
