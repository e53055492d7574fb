#include "api/json_views.h"

#include <cmath>

namespace accel {

double Round(double value, int decimals) {
  const double f = std::pow(10.0, decimals);
  return std::round(value * f) / f;
}

std::string DeviceState(const DeviceStatus& device) {
  if (device.ejected) return "ejected";
  return std::string(HealthStateName(device.health.state));
}

std::string OverallHealth(const std::vector<DeviceStatus>& devices, const std::vector<ModelStatus>& models) {
  if (models.empty()) return "unhealthy";
  for (const auto& m : models)
    if (!m.ready) return "unhealthy";
  for (const auto& d : devices)
    if (d.ejected || d.health.state != HealthState::kReady) return "degraded";
  return "healthy";
}

nlohmann::json DeviceInfoJson(const DeviceInfo& device) {
  nlohmann::json j;
  j["id"] = device.id;
  j["kind"] = device.kind;
  j["name"] = device.name;
  j["simulated"] = device.simulated;
  if (device.test_only) j["test_only"] = true;
  nlohmann::json props = nlohmann::json::object();
  for (const auto& [k, v] : device.properties) props[k] = v;
  j["properties"] = std::move(props);
  return j;
}

nlohmann::json DeviceJson(const DeviceStatus& device) {
  nlohmann::json j = DeviceInfoJson(device.info);
  j["state"] = DeviceState(device);
  std::string reason = device.ejected ? device.ejected_reason : device.health.reason;
  if (device.ejected && reason.empty()) reason = device.health.reason;
  j["reason"] = reason;
  j["queue_depth"] = device.queue_depth;
  j["in_flight"] = device.in_flight;
  j["models"] = device.models;
  j["ewma_item_ms"] =
      device.ewma_item_ms < 0 ? nlohmann::json(nullptr) : nlohmann::json(Round(device.ewma_item_ms, 3));
  j["completed"] = device.completed;
  j["failed"] = device.failed;
  nlohmann::json stats;
  auto put = [&stats](const char* key, double v) {
    if (v >= 0) stats[key] = Round(v, 2);
  };
  put("temperature_c", device.stats.temperature_c);
  put("power_w", device.stats.power_w);
  put("utilization_percent", device.stats.utilization_percent);
  put("memory_used_mb", device.stats.memory_used_mb);
  put("memory_total_mb", device.stats.memory_total_mb);
  stats["batches_executed"] = device.stats.batches_executed;
  stats["items_executed"] = device.stats.items_executed;
  j["stats"] = std::move(stats);
  if (!device.stats.model_runtimes.empty()) j["runtimes"] = device.stats.model_runtimes;
  return j;
}

nlohmann::json DetectionsJson(const std::vector<Detection>& detections) {
  nlohmann::json arr = nlohmann::json::array();
  for (const auto& d : detections) {
    arr.push_back({{"label", d.label},
                   {"class_id", d.class_id},
                   {"confidence", Round(d.confidence, 4)},
                   {"box",
                    {{"x_min", Round(d.box.x_min, 1)},
                     {"y_min", Round(d.box.y_min, 1)},
                     {"x_max", Round(d.box.x_max, 1)},
                     {"y_max", Round(d.box.y_max, 1)}}}});
  }
  return arr;
}

nlohmann::json ClassificationsJson(const std::vector<Classification>& classifications) {
  nlohmann::json arr = nlohmann::json::array();
  for (const auto& c : classifications)
    arr.push_back({{"label", c.label}, {"class_id", c.class_id}, {"confidence", Round(c.confidence, 4)}});
  return arr;
}

nlohmann::json TimingsJson(const DetectionResult& r) {
  return {{"decode_ms", Round(r.decode_ms, 3)},
          {"preprocess_ms", Round(r.preprocess_ms, 3)},
          {"queue_ms", Round(r.queue_ms, 3)},
          {"inference_ms", Round(r.inference_ms, 3)},
          {"postprocess_ms", Round(r.postprocess_ms, 3)},
          {"total_ms", Round(r.total_ms, 3)}};
}

}  // namespace accel
