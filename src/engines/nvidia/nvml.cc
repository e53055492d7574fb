#include "engines/nvidia/nvml.h"

#include <dlfcn.h>

#include <cstdlib>
#include <mutex>
#include <sstream>
#include <string_view>
#include <type_traits>
#include <vector>

namespace accel {

namespace {

// The few NVML declarations used, from NVML's documented C ABI (nvml.h is not needed to build).
using NvmlReturn = int;  // nvmlReturn_t; 0 is NVML_SUCCESS
using NvmlDevice = struct NvmlDeviceOpaque*;
struct NvmlMemory {
  unsigned long long total;
  unsigned long long free;
  unsigned long long used;
};
struct NvmlUtilization {
  unsigned int gpu;
  unsigned int memory;
};
constexpr int kNvmlTemperatureGpu = 0;
constexpr NvmlReturn kNvmlSuccess = 0;

// The CUDA_VISIBLE_DEVICES entry for a CUDA index: "" when unset (identity mapping), else the entry.
// CUDA stops at the first entry it cannot parse; so do we.
std::optional<std::string> VisibleEntry(int cuda_index) {
  const char* env = std::getenv("CUDA_VISIBLE_DEVICES");
  if (env == nullptr) return std::string();
  std::vector<std::string> entries;
  std::stringstream in(env);
  for (std::string item; std::getline(in, item, ',');) {
    size_t b = item.find_first_not_of(' ');
    size_t e = item.find_last_not_of(' ');
    entries.push_back(b == std::string::npos ? "" : item.substr(b, e - b + 1));
  }
  if (cuda_index < 0 || cuda_index >= static_cast<int>(entries.size())) return std::nullopt;
  return entries[cuda_index];
}

}  // namespace

struct Nvml::Api {
  NvmlReturn (*init)() = nullptr;
  NvmlReturn (*get_count)(unsigned int*) = nullptr;
  NvmlReturn (*by_index)(unsigned int, NvmlDevice*) = nullptr;
  NvmlReturn (*by_uuid)(const char*, NvmlDevice*) = nullptr;
  NvmlReturn (*name)(NvmlDevice, char*, unsigned int) = nullptr;
  NvmlReturn (*memory)(NvmlDevice, NvmlMemory*) = nullptr;
  NvmlReturn (*utilization)(NvmlDevice, NvmlUtilization*) = nullptr;
  NvmlReturn (*temperature)(NvmlDevice, int, unsigned int*) = nullptr;
  NvmlReturn (*power)(NvmlDevice, unsigned int*) = nullptr;
  // NVML is thread-safe, but reads are serialised anyway: they are rare and cheap.
  mutable std::mutex mutex;
};

Nvml& Nvml::Get() {
  static Nvml* instance = new Nvml();  // intentionally leaked: NVML must outlive every engine
  return *instance;
}

Nvml::Nvml() {
  void* lib = dlopen("libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL);
  if (lib == nullptr) {
    reason_ = "libnvidia-ml.so.1 not found (no NVIDIA driver)";
    return;
  }
  auto api = new Api();
  auto load = [&](auto& fn, const char* symbol) {
    fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(dlsym(lib, symbol));
    return fn != nullptr;
  };
  bool ok = load(api->init, "nvmlInit_v2") && load(api->get_count, "nvmlDeviceGetCount_v2") &&
            load(api->by_index, "nvmlDeviceGetHandleByIndex_v2") && load(api->name, "nvmlDeviceGetName") &&
            load(api->memory, "nvmlDeviceGetMemoryInfo");
  // Optional symbols: telemetry the driver may not expose.
  load(api->by_uuid, "nvmlDeviceGetHandleByUUID");
  load(api->utilization, "nvmlDeviceGetUtilizationRates");
  load(api->temperature, "nvmlDeviceGetTemperature");
  load(api->power, "nvmlDeviceGetPowerUsage");
  if (!ok) {
    reason_ = "libnvidia-ml.so.1 lacks the expected symbols";
    delete api;
    return;
  }
  NvmlReturn rc = api->init();
  if (rc != kNvmlSuccess) {
    reason_ = "nvmlInit failed with code " + std::to_string(rc);
    delete api;
    return;
  }
  api_ = api;
  available_ = true;
}

std::optional<GpuReading> Nvml::Read(int cuda_index) const {
  if (!available_) return std::nullopt;
  std::optional<std::string> entry = VisibleEntry(cuda_index);
  if (!entry) return std::nullopt;
  std::lock_guard<std::mutex> lock(api_->mutex);
  NvmlDevice device = nullptr;
  if (entry->empty()) {
    if (api_->by_index(static_cast<unsigned int>(cuda_index), &device) != kNvmlSuccess) return std::nullopt;
  } else if (entry->rfind("GPU-", 0) == 0) {
    if (api_->by_uuid == nullptr || api_->by_uuid(entry->c_str(), &device) != kNvmlSuccess)
      return std::nullopt;
  } else {
    char* end = nullptr;
    long index = std::strtol(entry->c_str(), &end, 10);
    // MIG instances ("MIG-...") and anything unparsable: identity unknown, no reading.
    if (end == entry->c_str() || *end != '\0' || index < 0) return std::nullopt;
    if (api_->by_index(static_cast<unsigned int>(index), &device) != kNvmlSuccess) return std::nullopt;
  }
  GpuReading reading;
  char name[96] = {};
  if (api_->name(device, name, sizeof(name)) == kNvmlSuccess) reading.name = name;
  NvmlMemory memory{};
  if (api_->memory(device, &memory) == kNvmlSuccess) {
    reading.memory_total_mb = static_cast<double>(memory.total) / (1024.0 * 1024.0);
    reading.memory_used_mb = static_cast<double>(memory.used) / (1024.0 * 1024.0);
  }
  NvmlUtilization utilization{};
  if (api_->utilization != nullptr && api_->utilization(device, &utilization) == kNvmlSuccess) {
    reading.utilization_percent = utilization.gpu;
  }
  unsigned int value = 0;
  if (api_->temperature != nullptr &&
      api_->temperature(device, kNvmlTemperatureGpu, &value) == kNvmlSuccess) {
    reading.temperature_c = value;
  }
  if (api_->power != nullptr && api_->power(device, &value) == kNvmlSuccess) reading.power_w = value / 1000.0;
  return reading;
}

}  // namespace accel
