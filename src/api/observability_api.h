// What the service shows about itself: GET /metrics (Prometheus), GET /ai/stats (the dashboard's live
// figures), and the embedded web dashboard at / .
#pragma once

#include "api/http_router.h"
#include "api/service_context.h"

namespace accel {

// Needs context.metrics. Also installs the metrics' device snapshot provider (reads the scheduler).
void RegisterObservabilityRoutes(HttpRouter& router, ServiceContext& context);

}  // namespace accel
