// The seed API: POST /ai/infer, GET /ai/health, /ai/engines, /ai/hardware, /ai/models, POST /ai/validate.
#pragma once

#include "api/http_router.h"
#include "api/infer_request_parser.h"
#include "api/request_metrics.h"
#include "api/service_context.h"

namespace accel {

// `context` must outlive the router.
void RegisterAiRoutes(HttpRouter& router, ServiceContext& context);

// Parse options shared by the image front ends (limits, engine kinds a client may name). Called once, when
// the service is assembled; the result lives in ServiceContext::infer_options.
InferParseOptions MakeInferParseOptions(const ServiceContext& context);

}  // namespace accel
