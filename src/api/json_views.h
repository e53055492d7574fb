// JSON renderings of service state shared by several front ends (/ai/*, /v2, dashboard).
#pragma once

#include <nlohmann/json.hpp>

#include "api/service_context.h"
#include "pipeline/detection_pipeline.h"
#include "scheduler/scheduler.h"

namespace accel {

// "healthy": every device ready and every loaded model servable; "degraded": some device is out but every
// loaded model can still be served; "unhealthy": some loaded model (or the default one) cannot be served.
std::string OverallHealth(const std::vector<DeviceStatus>& devices, const std::vector<ModelStatus>& models);

// "ready", "degraded", "failed" (engine's view) or "ejected" (scheduler took it out of rotation).
std::string DeviceState(const DeviceStatus& device);

nlohmann::json DeviceJson(const DeviceStatus& device);
nlohmann::json DeviceInfoJson(const DeviceInfo& device);
nlohmann::json DetectionsJson(const std::vector<Detection>& detections);
// [{label, class_id, confidence}], best first.
nlohmann::json ClassificationsJson(const std::vector<Classification>& classifications);
nlohmann::json TimingsJson(const DetectionResult& result);
double Round(double value, int decimals);

}  // namespace accel
