#include "engines/cpu/cpu_runtime_choice.h"

#include <cstdio>

namespace accel {
namespace {

std::string Ms(double ms) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f ms", ms);
  return text;
}

bool LibtorchCanRun(const CpuRuntimeInputs& in) {
  return in.has_torchscript && in.libtorch_unavailable.empty();
}

}  // namespace

const char* CpuRuntimeName(CpuRuntime runtime) {
  switch (runtime) {
    case CpuRuntime::kAuto:
      return "auto";
    case CpuRuntime::kOpencv:
      return "opencv";
    case CpuRuntime::kLibtorch:
      return "libtorch";
  }
  return "auto";
}

StatusOr<CpuRuntime> ParseCpuRuntime(const std::string& text, const std::string& what) {
  if (text == "auto") return CpuRuntime::kAuto;
  if (text == "opencv") return CpuRuntime::kOpencv;
  if (text == "libtorch") return CpuRuntime::kLibtorch;
  return InvalidArgument(what + " must be auto, opencv or libtorch, got '" + text + "'");
}

bool NeedsMeasurement(const CpuRuntimeInputs& in) {
  return in.requested == CpuRuntime::kAuto && in.has_onnx && LibtorchCanRun(in) &&
         !(in.opencv_ms && in.libtorch_ms);
}

CpuRuntimeDecision ChooseCpuRuntime(const CpuRuntimeInputs& in) {
  CpuRuntimeDecision d;
  const std::string by = in.requested_by.empty() ? "" : " (" + in.requested_by + ")";
  auto opencv = [&](std::string reason) {
    d.runtime = CpuRuntime::kOpencv;
    d.reason = std::move(reason);
    if (!in.has_onnx)
      d.status = FailedPrecondition("the model has neither an onnx nor a TorchScript artifact");
    return d;
  };
  auto libtorch = [&](std::string reason) {
    d.runtime = CpuRuntime::kLibtorch;
    d.reason = std::move(reason);
    return d;
  };
  switch (in.requested) {
    case CpuRuntime::kOpencv:
      return opencv("requested" + by);
    case CpuRuntime::kLibtorch:
      if (!in.has_torchscript)
        return opencv("libtorch requested" + by + " but the model has no TorchScript artifact");
      if (!in.libtorch_unavailable.empty()) {
        d.status =
            FailedPrecondition("cpu runtime libtorch requested" + by + " but " + in.libtorch_unavailable);
        d.runtime = CpuRuntime::kLibtorch;
        return d;
      }
      return libtorch("requested" + by);
    case CpuRuntime::kAuto:
      break;
  }
  if (!in.has_onnx) {
    if (LibtorchCanRun(in)) return libtorch("auto: the model has no onnx artifact");
    d.status = FailedPrecondition(in.has_torchscript ? "the model has only a TorchScript artifact and " +
                                                           in.libtorch_unavailable
                                                     : "the model has no onnx artifact");
    return d;
  }
  if (!in.has_torchscript) return opencv("auto: the model has no TorchScript artifact");
  if (!in.libtorch_unavailable.empty()) return opencv("auto: " + in.libtorch_unavailable);
  if (!in.opencv_ms || !in.libtorch_ms) return opencv("auto: not measured");
  // Ties go to OpenCV: it needs no plugin and less memory.
  if (*in.libtorch_ms < *in.opencv_ms)
    return libtorch("auto: measured " + Ms(*in.libtorch_ms) + " vs opencv " + Ms(*in.opencv_ms) + " at load");
  return opencv("auto: measured " + Ms(*in.opencv_ms) + " vs libtorch " + Ms(*in.libtorch_ms) + " at load");
}

}  // namespace accel
