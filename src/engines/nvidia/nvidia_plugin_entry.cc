// The C entry points of libaccel_nvidia_engine.so, the nvidia engine as a runtime plugin (contract in
// nvidia_plugin_loader.h). Only these two symbols are exported from the plugin (version script in
// CMakeLists.txt); everything of accel_core / accel_engine_api it uses is resolved from the executable.
#include <exception>
#include <string_view>
#include <type_traits>

#include "core/logging.h"
#include "engines/nvidia/nvidia_plugin_loader.h"
#include "engines/nvidia/torch_engine.h"

extern "C" {

__attribute__((visibility("default"))) int AccelEnginePluginAbiVersion() {
  return accel::kNvidiaPluginAbiVersion;
}

// Returns a factory the caller owns (delete through EngineFactory's virtual destructor), or nullptr. No
// exception leaves the plugin.
__attribute__((visibility("default"))) accel::EngineFactory* AccelCreateNvidiaEngineFactory(
    bool expose_cpu_device) {
  try {
    return accel::MakeTorchEngineFactory(expose_cpu_device).release();
  } catch (const std::exception& e) {
    ACCEL_LOG(kError, "nvidia") << "creating the engine factory failed: " << e.what();
  } catch (...) {
    ACCEL_LOG(kError, "nvidia") << "creating the engine factory failed with an unknown exception";
  }
  return nullptr;
}

}  // extern "C"

// Both sides name the functions through these constants; keep them and the definitions above in step.
static_assert(std::string_view(accel::kNvidiaPluginAbiFunction) == "AccelEnginePluginAbiVersion");
static_assert(std::string_view(accel::kNvidiaPluginFactoryFunction) == "AccelCreateNvidiaEngineFactory");
static_assert(std::is_same_v<decltype(&AccelEnginePluginAbiVersion), accel::NvidiaPluginAbiFn>);
static_assert(std::is_same_v<decltype(&AccelCreateNvidiaEngineFactory), accel::NvidiaPluginFactoryFn>);
