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

}  // namespace accel
