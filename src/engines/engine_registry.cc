#include "engines/engine_registry.h"

#include <filesystem>

#include "engines/cpu/cpu_engine.h"
#include "engines/hailo/hailo_options.h"
#include "engines/nvidia/nvidia_options.h"
#include "engines/sim/sim_engine.h"

// The one place that knows which optional engines were compiled in (src/engines/CMakeLists.txt defines
// these when the engine's target exists). The nvidia engine is a runtime plugin: what is compiled in is
// the loader, which maps libtorch only when an NVIDIA driver is present or the CPU test device is asked for.
#ifdef ACCEL_NVIDIA_PLUGIN_BUILT
#include "engines/nvidia/nvidia_plugin_loader.h"
#endif
#ifdef ACCEL_HAVE_HAILO_ENGINE
#include "engines/hailo/hailo_engine.h"
#endif

namespace accel {

void EngineRegistry::Register(std::unique_ptr<EngineFactory> factory) {
  factories_.push_back(std::move(factory));
}

void EngineRegistry::RegisterUnavailable(std::string kind, std::string reason,
                                         std::vector<EngineOptionSpec> options) {
  unavailable_.push_back(Unavailable{std::move(kind), std::move(reason), std::move(options)});
}

std::vector<EngineKindOptions> EngineRegistry::OptionsByKind() const {
  std::vector<EngineKindOptions> out;
  for (const auto& f : factories_) out.push_back(EngineKindOptions{f->kind(), f->OptionSpecs()});
  for (const auto& u : unavailable_) out.push_back(EngineKindOptions{u.kind, u.options});
  return out;
}

EngineFactory* EngineRegistry::Find(const std::string& kind) const {
  for (const auto& f : factories_)
    if (f->kind() == kind) return f.get();
  return nullptr;
}

std::vector<EngineFactory*> EngineRegistry::factories() const {
  std::vector<EngineFactory*> out;
  for (const auto& f : factories_) out.push_back(f.get());
  return out;
}

namespace {

// The cpu engine's libtorch runtime: the nvidia plugin's CPU device, loaded only when a model needs it.
LibtorchCpuEngineMaker MakeLibtorchCpuEngineMaker() {
#ifdef ACCEL_NVIDIA_PLUGIN_BUILT
  NvidiaPluginOptions plugin;
  plugin.file_name = ACCEL_NVIDIA_PLUGIN_NAME;
  plugin.expose_cpu_device = true;
  // Creating the factory loads nothing; its first Probe loads the plugin (and libtorch).
  std::shared_ptr<EngineFactory> factory = MakeNvidiaPluginFactory(std::move(plugin));
  return [factory](const EngineOptions& options) -> StatusOr<std::unique_ptr<Engine>> {
    ProbeResult probe = factory->Probe();
    for (const DeviceInfo& device : probe.devices)
      if (device.id == kNvidiaCpuDeviceId) {
        DeviceInfo info = device;
        info.test_only = false;  // here it is the cpu device's runtime, not a stand-in for a GPU
        info.name = "libtorch CPU runtime of cpu:0";
        return factory->Create(info, options);
      }
    return Unavailable("libtorch plugin not installed: " + probe.unavailable_reason);
  };
#else
  return [](const EngineOptions&) -> StatusOr<std::unique_ptr<Engine>> {
    return Unavailable("libtorch plugin not installed (this accel was built without libtorch)");
  };
#endif
}

// Whether the plugin file is there, without loading it (`accel devices`).
LibtorchCpuPresence MakeLibtorchCpuPresence() {
#ifdef ACCEL_NVIDIA_PLUGIN_BUILT
  return [] {
    for (const std::string& dir : DefaultPluginSearchDirs()) {
      std::error_code ec;
      const std::filesystem::path path = std::filesystem::path(dir) / ACCEL_NVIDIA_PLUGIN_NAME;
      if (std::filesystem::exists(path, ec))
        return "plugin found at " + path.string() + " (loaded when a model's runtime needs it)";
    }
    return std::string("not installed: " ACCEL_NVIDIA_PLUGIN_NAME " not found (docs/nvidia.md)");
  };
#else
  return [] { return std::string("not installed (this accel was built without libtorch)"); };
#endif
}

}  // namespace

Status RegisterBuiltinEngines(EngineRegistry& registry, const BuiltinEngineConfig& config) {
  registry.Register(MakeCpuEngineFactory(MakeLibtorchCpuEngineMaker(), MakeLibtorchCpuPresence()));
#ifdef ACCEL_NVIDIA_PLUGIN_BUILT
  NvidiaPluginOptions nvidia;
  nvidia.file_name = ACCEL_NVIDIA_PLUGIN_NAME;
  nvidia.expose_cpu_device = config.torch_cpu_device;
  registry.Register(MakeNvidiaPluginFactory(std::move(nvidia)));
#else
  registry.RegisterUnavailable(
      "nvidia", "not built: libtorch was not found at configure time (docs/nvidia.md)", NvidiaOptionSpecs());
#endif
#ifdef ACCEL_HAVE_HAILO_ENGINE
  registry.Register(MakeHailoEngineFactory());
#else
  registry.RegisterUnavailable(
      "hailo", "not built: HailoRT SDK was not found at configure time (docs/hailo.md)", HailoOptionSpecs());
#endif
  if (!config.sim_devices.empty()) {
    auto sim = MakeSimEngineFactory(config.sim_devices);
    if (!sim.ok()) return sim.status().WithContext("--sim-device");
    registry.Register(std::move(sim).value());
  }
  return Status::Ok();
}

std::vector<EngineKindOptions> BuiltinEngineOptions() {
  EngineRegistry registry;
  // With no --sim-device nothing can fail here.
  (void)RegisterBuiltinEngines(registry, BuiltinEngineConfig{});
  if (registry.Find("sim") == nullptr) {
    auto sim = MakeSimEngineFactory({});
    if (sim.ok()) registry.Register(std::move(sim).value());
  }
  return registry.OptionsByKind();
}

}  // namespace accel
