// Shared between hailo_engine.cc and hailo_factory.cc; includes no HailoRT header so the factory's
// interface stays SDK-free. Only compiled with HailoRT.
#pragma once

#include <memory>

#include "core/status.h"
#include "engines/engine.h"
#include "engines/hailo/hailo_device_info.h"
#include "engines/hailo/hailo_options.h"

namespace accel {

// The version of the libhailort this process runs (hailo_get_library_version).
HailoVersion HailoLibraryVersion();

// Opens the card named by `device.id` ("hailo:<BDF>") on its own VDevice.
StatusOr<std::unique_ptr<Engine>> CreateHailoEngine(const DeviceInfo& device, const HailoOptions& options);

}  // namespace accel
