#include "api/request_metrics.h"

#include "api/http_types.h"
#include "metrics/accel_metrics.h"

namespace accel {

void RecordApiRequest(const ServiceContext& ctx, std::string_view api, const std::string& model,
                      const std::string& device, int http_status, SteadyTime started) {
  if (!ctx.metrics) return;
  // Model names come from clients: only names of loaded models become label values.
  const std::string label = !model.empty() && ctx.scheduler->FindModel(model) ? model : "unknown";
  ctx.metrics->RecordRequest(api, label, device, http_status,
                             MillisBetween(started, Clock::Real()->Now()) / 1000.0);
}

void RecordDetection(const ServiceContext& ctx, std::string_view api, const StatusOr<DetectionResult>& result,
                     SteadyTime started) {
  if (!result.ok()) return RecordApiRequest(ctx, api, "", "", HttpStatusFor(result.status().code()), started);
  // A cached answer used no device: its requests are counted under device "cache".
  RecordApiRequest(ctx, api, result->model, result->cache == CacheStatus::kHit ? "cache" : result->device_id,
                   200, started);
}

}  // namespace accel
