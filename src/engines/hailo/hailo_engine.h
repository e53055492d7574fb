// hailo engine: runs HEF models on Hailo-8 / Hailo-8L cards through HailoRT 4.x (the hailo8 branch), one
// Engine per physical card, each on its own VDevice so a fault stays on one card. Only compiled when
// HailoRT is found (ACCEL_WITH_HAILO); see docs/hailo.md. Everything that is not a HailoRT call lives in
// accel_hailo_support (hailo_options.h, hailo_device_info.h, hailo_model_check.h, hailo_status_map.h,
// hailo_recovery.h) and in vision/hailo_nms.h.
#pragma once

#include <memory>

#include "engines/engine.h"

namespace accel {

// Engine options (EngineOptions keys, HAILO_* environment variables): see hailo_options.h.
std::unique_ptr<EngineFactory> MakeHailoEngineFactory();

}  // namespace accel
