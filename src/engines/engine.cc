#include "engines/engine.h"

namespace accel {

std::string_view HealthStateName(HealthState state) {
  switch (state) {
    case HealthState::kReady:
      return "ready";
    case HealthState::kDegraded:
      return "degraded";
    case HealthState::kFailed:
      return "failed";
  }
  return "unknown";
}

std::string EngineOptions::Get(const std::string& key, const std::string& fallback) const {
  auto it = values.find(key);
  return it == values.end() ? fallback : it->second;
}

}  // namespace accel
