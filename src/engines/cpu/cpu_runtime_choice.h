// Which runtime serves a model on the cpu device: OpenCV DNN (the model's `cpu` ONNX artifact) or libtorch
// (its TorchScript artifact, through the nvidia engine's code on the CPU). Only one of them serves a model:
// both would compete for the same cores. The rule, as a pure function so it can be tested with injected
// timings:
//   - model.yaml `cpu.runtime` wins over the engine option `cpu.runtime` (--cpu-runtime, CPU_RUNTIME);
//   - opencv: OpenCV DNN;
//   - libtorch: libtorch where the model has a TorchScript artifact and the libtorch plugin loads, an error
//     where the plugin does not load, OpenCV where the model has no TorchScript artifact or no ONNX one;
//   - auto (the default): OpenCV unless libtorch can run the model too; then both are timed at load (a few
//     runs each, median) and the faster serves.
#pragma once

#include <optional>
#include <string>

#include "core/status.h"

namespace accel {

enum class CpuRuntime { kAuto, kOpencv, kLibtorch };

// "auto", "opencv", "libtorch".
const char* CpuRuntimeName(CpuRuntime runtime);
// Parses one of the names above; INVALID_ARGUMENT naming `what` (e.g. "cpu.runtime") otherwise.
StatusOr<CpuRuntime> ParseCpuRuntime(const std::string& text, const std::string& what);

// What is known about one model when the cpu engine loads it.
struct CpuRuntimeInputs {
  CpuRuntime requested = CpuRuntime::kAuto;  // model.yaml's setting, else the engine option
  std::string requested_by;                  // "model.yaml" or "--cpu-runtime", for the reason text
  bool has_onnx = true;                      // the model has a `cpu` ONNX artifact
  bool has_torchscript = false;              // the model has a TorchScript artifact
  std::string libtorch_unavailable;          // why libtorch cannot run here; empty when it can
  // Medians measured at load, when the rule asked for them (NeedsMeasurement).
  std::optional<double> opencv_ms;
  std::optional<double> libtorch_ms;
};

struct CpuRuntimeDecision {
  Status status;  // not OK: the model cannot be served on the cpu device (e.g. libtorch forced, missing)
  CpuRuntime runtime = CpuRuntime::kOpencv;  // kOpencv or kLibtorch when status is OK
  std::string reason;                        // e.g. "measured 14.1 ms vs libtorch 19.8 ms at load"
};

// Whether both runtimes must be timed before ChooseCpuRuntime can decide (auto, both can run the model,
// timings not yet given).
bool NeedsMeasurement(const CpuRuntimeInputs& inputs);

// The rule at the top of this file.
CpuRuntimeDecision ChooseCpuRuntime(const CpuRuntimeInputs& inputs);

}  // namespace accel
