#include "engines/nvidia/nvidia_plugin_loader.h"

#include <dlfcn.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <system_error>

#include "core/logging.h"
#include "engines/nvidia/nvidia_options.h"

namespace accel {

namespace {

constexpr char kLog[] = "engines";
constexpr char kNoDriverReason[] =
    "no NVIDIA driver found (libcuda.so.1 / /dev/nvidiactl); the nvidia engine was not loaded";

std::string DlErrorText() {
  const char* e = dlerror();
  return e ? e : "unknown dlopen error";
}

struct LoadedPlugin {
  std::unique_ptr<EngineFactory> factory;
  std::string path;
};

// Tries one file. The handle is deliberately never dlclose'd, not even after a failed check: engines run
// threads in the plugin's code, and libtorch does not support being unloaded.
StatusOr<LoadedPlugin> LoadPluginFile(const std::string& path, bool expose_cpu_device) {
  dlerror();
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) return Unavailable(DlErrorText());  // names the file already
  dlerror();
  auto abi = reinterpret_cast<NvidiaPluginAbiFn>(dlsym(handle, kNvidiaPluginAbiFunction));
  if (abi == nullptr) return Unavailable(path + ": not an nvidia engine plugin (" + DlErrorText() + ")");
  const int version = abi();
  if (version != kNvidiaPluginAbiVersion) {
    return Unavailable(path + ": plugin ABI version " + std::to_string(version) + ", this accel needs " +
                       std::to_string(kNvidiaPluginAbiVersion) + " (rebuild the plugin with this accel)");
  }
  auto create = reinterpret_cast<NvidiaPluginFactoryFn>(dlsym(handle, kNvidiaPluginFactoryFunction));
  if (create == nullptr) return Unavailable(path + ": " + DlErrorText());
  std::unique_ptr<EngineFactory> factory(create(expose_cpu_device));
  if (factory == nullptr) return Unavailable(path + ": the plugin failed to create its engine factory");
  return LoadedPlugin{std::move(factory), path};
}

class NvidiaPluginFactory final : public EngineFactory {
 public:
  explicit NvidiaPluginFactory(NvidiaPluginOptions options) : options_(std::move(options)) {
    if (options_.search_dirs.empty()) options_.search_dirs = DefaultPluginSearchDirs();
  }

  std::string kind() const override { return "nvidia"; }

  ProbeResult Probe() override {
    StatusOr<EngineFactory*> real = Load();
    if (!real.ok()) {
      ProbeResult result;
      result.unavailable_reason = real.status().message();
      return result;
    }
    return (*real)->Probe();
  }

  std::vector<EngineOptionSpec> OptionSpecs() const override { return NvidiaOptionSpecs(); }

  StatusOr<std::unique_ptr<Engine>> Create(const DeviceInfo& device, const EngineOptions& options) override {
    // Checked here too, so that a bad value is reported the same whether or not the plugin loads.
    ACCEL_RETURN_IF_ERROR(ValidateEngineOptions(kind(), OptionSpecs(), options).status());
    ACCEL_ASSIGN_OR_RETURN(EngineFactory * real, Load());
    return real->Create(device, options);
  }

 private:
  // The real factory, loading the plugin the first time. A failed load is remembered (the answer does
  // not change while the process runs); the driver check is not, it is cheap and loads nothing.
  StatusOr<EngineFactory*> Load() {
    std::lock_guard<std::mutex> lock(mu_);
    if (loaded_) return loaded_.get();
    if (!load_error_.empty()) return Unavailable(load_error_);
    if (!options_.expose_cpu_device) {
      std::string absent = NvidiaDriverAbsentReason();
      if (!absent.empty()) return Unavailable(absent);
    }
    std::string tried;
    for (const std::string& dir : options_.search_dirs) {
      std::string path = (std::filesystem::path(dir) / options_.file_name).string();
      std::error_code ec;
      if (!std::filesystem::exists(path, ec)) {
        tried += (tried.empty() ? "" : "; ") + path + ": not found";
        continue;
      }
      StatusOr<LoadedPlugin> plugin = LoadPluginFile(path, options_.expose_cpu_device);
      if (!plugin.ok()) {
        tried += (tried.empty() ? "" : "; ") + plugin.status().message();
        continue;
      }
      ACCEL_LOG(kInfo, kLog) << "nvidia: engine plugin loaded from " << plugin->path;
      loaded_ = std::move(plugin->factory);
      return loaded_.get();
    }
    if (tried.empty()) tried = "no directory to search";
    load_error_ = "the nvidia engine plugin " + options_.file_name + " could not be loaded (" + tried +
                  "; set ACCEL_PLUGIN_DIR to the folder that holds it)";
    ACCEL_LOG(kWarn, kLog) << load_error_;
    return Unavailable(load_error_);
  }

  NvidiaPluginOptions options_;
  std::mutex mu_;
  std::unique_ptr<EngineFactory> loaded_;  // guarded by mu_; never reset once set
  std::string load_error_;                 // guarded by mu_
};

}  // namespace

std::vector<std::string> DefaultPluginSearchDirs() {
  std::vector<std::string> dirs;
  if (const char* env = std::getenv("ACCEL_PLUGIN_DIR"); env != nullptr && *env != '\0') dirs.push_back(env);
  std::error_code ec;
  std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec && exe.has_parent_path()) dirs.push_back(exe.parent_path().string());
  return dirs;
}

std::string NvidiaDriverAbsentReason() {
  // The handle stays open on success: the plugin is loaded right after and maps libcuda anyway.
  if (dlopen("libcuda.so.1", RTLD_LAZY | RTLD_LOCAL) != nullptr) return {};
  if (access("/dev/nvidiactl", F_OK) == 0) return {};
  return kNoDriverReason;
}

std::unique_ptr<EngineFactory> MakeNvidiaPluginFactory(NvidiaPluginOptions options) {
  return std::make_unique<NvidiaPluginFactory>(std::move(options));
}

}  // namespace accel
