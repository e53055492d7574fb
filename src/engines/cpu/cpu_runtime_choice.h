// Which runtime serves a model on the cpu device: OpenCV DNN (the model's `cpu` ONNX artifact), XNNPACK
// (the same ONNX artifact through xnnpack_net.h) or libtorch (its TorchScript artifact, through the nvidia
// engine's code on the CPU). Only one of them serves a model: they would compete for the same cores. The
// rule, as a pure function so it can be tested with injected timings:
//   - model.yaml `cpu.runtime` wins over the engine option `cpu.runtime` (--cpu-runtime, CPU_RUNTIME);
//   - opencv: OpenCV DNN;
//   - xnnpack: XNNPACK, an error where the model has no ONNX artifact or the runtime refused its graph;
//   - libtorch: libtorch where the model has a TorchScript artifact and the libtorch plugin loads, an error
//     where the plugin does not load, OpenCV where the model has no TorchScript artifact or no ONNX one;
//   - auto (the default): every runtime that can run the model (OpenCV with an ONNX artifact, XNNPACK where
//     it accepted the graph, libtorch with a TorchScript artifact and the plugin) is timed at load (a few
//     runs each, median) and the fastest serves; with one candidate, that one. Ties go to OpenCV, then
//     XNNPACK.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/status.h"

namespace accel {

enum class CpuRuntime { kAuto, kOpencv, kLibtorch, kXnnpack };

// "auto", "opencv", "libtorch", "xnnpack".
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
  bool xnnpack_loaded = false;               // the xnnpack runtime accepted the model's graph
  std::string xnnpack_refused;               // why it did not (names the node); empty when not tried
  // Medians measured at load, when the rule asked for them (NeedsMeasurement).
  std::optional<double> opencv_ms;
  std::optional<double> libtorch_ms;
  std::optional<double> xnnpack_ms;
};

struct CpuRuntimeDecision {
  Status status;  // not OK: the model cannot be served on the cpu device (e.g. libtorch forced, missing)
  CpuRuntime runtime = CpuRuntime::kOpencv;  // never kAuto when status is OK
  std::string reason;                        // e.g. "measured 14.1 ms vs libtorch 19.8 ms at load"
};

// Whether the runtimes that can run the model must be timed before ChooseCpuRuntime can decide (auto, two
// or more can run it, a timing not yet given).
bool NeedsMeasurement(const CpuRuntimeInputs& inputs);

// The runtimes `auto` considers for the model (those that can run it), in tie-break order.
std::vector<CpuRuntime> CpuRuntimeCandidates(const CpuRuntimeInputs& inputs);

// The rule at the top of this file.
CpuRuntimeDecision ChooseCpuRuntime(const CpuRuntimeInputs& inputs);

}  // namespace accel
