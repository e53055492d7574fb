// Optional GPU telemetry through NVML, loaded at run time with dlopen("libnvidia-ml.so.1"): there is no
// link-time dependency, so the engine builds and runs where the NVIDIA driver (which ships NVML) is absent.
#pragma once

#include <optional>
#include <string>

namespace accel {

// One reading of one GPU; a field NVML could not give is left at -1 (or empty for the name).
struct GpuReading {
  std::string name;
  double memory_total_mb = -1;
  double memory_used_mb = -1;
  double utilization_percent = -1;
  double temperature_c = -1;
  double power_w = -1;
};

class Nvml {
 public:
  // The process-wide instance; loads and initialises NVML on first use. Thread-safe.
  static Nvml& Get();

  bool available() const { return available_; }
  // Why NVML is not available ("libnvidia-ml.so.1 not found", "nvmlInit failed: 9"); empty when it is.
  const std::string& unavailable_reason() const { return reason_; }

  // Reads the GPU that CUDA calls `cuda_index` in this process. CUDA indices are mapped to NVML devices
  // through CUDA_VISIBLE_DEVICES (indices or GPU-UUIDs); without it, index i is NVML device i, which
  // matches CUDA's order on single-GPU machines and with CUDA_DEVICE_ORDER=PCI_BUS_ID. Thread-safe.
  std::optional<GpuReading> Read(int cuda_index) const;

 private:
  Nvml();
  struct Api;
  Api* api_ = nullptr;  // never freed: NVML stays loaded for the life of the process
  bool available_ = false;
  std::string reason_;
};

}  // namespace accel
