// Loads the nvidia engine as a runtime plugin (libaccel_nvidia_engine.so), so that `accel` itself does not
// link libtorch: processes on machines without an NVIDIA driver never map it (~100 MB of resident memory).
// No libtorch header is included here or in the .cc; the plugin's entry point (nvidia_plugin_entry.cc)
// includes this header for the names and the ABI version below.
//
// Contract between host and plugin:
//   - The plugin exports two C functions: kNvidiaPluginAbiFunction returns kNvidiaPluginAbiVersion, and
//     kNvidiaPluginFactoryFunction(expose_cpu_device) returns a heap EngineFactory (nullptr on failure)
//     that the host owns and deletes.
//   - The plugin does not contain accel_core / accel_engine_api; it resolves those symbols from the
//     executable (built with ENABLE_EXPORTS), so logging and other process-wide state stay single.
//   - Engine, EngineFactory and the types they carry cross the boundary as C++ objects: both sides must be
//     built from the same headers with the same compiler. Bump kNvidiaPluginAbiVersion whenever
//     src/engines/engine.h, sync_engine.h (the plugin's engine derives from SyncEngine, which the
//     executable provides) or a type they use (core/status.h, tensor.h, model_config.h) changes layout.
//   - The plugin is never unloaded (engines and their threads live in its code).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "engines/engine.h"

namespace accel {

// 2: the engine is built on SyncEngine; 3: EngineFactory::OptionSpecs (engines own their options);
// 4: EngineStats::model_runtimes and ModelConfig::cpu_runtime.
inline constexpr int kNvidiaPluginAbiVersion = 4;
inline constexpr char kNvidiaPluginAbiFunction[] = "AccelEnginePluginAbiVersion";
inline constexpr char kNvidiaPluginFactoryFunction[] = "AccelCreateNvidiaEngineFactory";
// The engine's device on libtorch's CPU device (exposed when NvidiaPluginOptions::expose_cpu_device).
inline constexpr char kNvidiaCpuDeviceId[] = "nvidia-cpu:0";

using NvidiaPluginAbiFn = int (*)();
using NvidiaPluginFactoryFn = EngineFactory* (*)(bool expose_cpu_device);

struct NvidiaPluginOptions {
  // File name of the plugin, looked for in `search_dirs` in order.
  std::string file_name = "libaccel_nvidia_engine.so";
  // Empty: $ACCEL_PLUGIN_DIR (when set), then the directory of /proc/self/exe.
  std::vector<std::string> search_dirs;
  // The CPU test device of the engine (BuiltinEngineConfig::torch_cpu_device): also skips the driver check.
  bool expose_cpu_device = false;
};

// The default search path: $ACCEL_PLUGIN_DIR (when set and not empty), then the executable's directory.
std::vector<std::string> DefaultPluginSearchDirs();

// Whether an NVIDIA GPU can exist here without loading CUDA: libcuda.so.1 can be dlopen'ed, or
// /dev/nvidiactl exists. Empty string when yes, else the reason why not.
std::string NvidiaDriverAbsentReason();

// A factory of kind "nvidia" that loads the plugin on first Probe()/Create() (after the driver check,
// unless the CPU test device is enabled) and forwards to the plugin's factory. When the plugin cannot be
// loaded, Probe() returns no devices with the reason and Create() returns UNAVAILABLE. Thread-safe.
std::unique_ptr<EngineFactory> MakeNvidiaPluginFactory(NvidiaPluginOptions options);

}  // namespace accel
