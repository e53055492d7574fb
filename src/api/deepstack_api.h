// The DeepStack / CodeProject.AI detection API, as Frigate's `deepstack` detector, Blue Iris and Home
// Assistant integrations call it: POST /v1/vision/detection (multipart `image`, optional `min_confidence`,
// default 0.4, and `api_key`). Predictions come sorted by confidence, descending, with integer pixel boxes.
#pragma once

#include "api/http_router.h"
#include "api/service_context.h"

namespace accel {

void RegisterDeepStackRoutes(HttpRouter& router, ServiceContext& context);

}  // namespace accel
