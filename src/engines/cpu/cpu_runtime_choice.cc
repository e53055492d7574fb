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

std::optional<double> TimingOf(const CpuRuntimeInputs& in, CpuRuntime runtime) {
  switch (runtime) {
    case CpuRuntime::kOpencv:
      return in.opencv_ms;
    case CpuRuntime::kLibtorch:
      return in.libtorch_ms;
    case CpuRuntime::kXnnpack:
      return in.xnnpack_ms;
    case CpuRuntime::kAuto:
      break;
  }
  return std::nullopt;
}

// Why the runtimes that cannot run the model were left out, "; "-separated (each message names its
// runtime).
std::string LeftOut(const CpuRuntimeInputs& in) {
  std::string notes;
  auto add = [&notes](const std::string& note) { notes += (notes.empty() ? "" : "; ") + note; };
  if (!in.has_torchscript)
    add("the model has no TorchScript artifact");
  else if (!in.libtorch_unavailable.empty())
    add(in.libtorch_unavailable);
  if (in.has_onnx && !in.xnnpack_loaded && !in.xnnpack_refused.empty()) add(in.xnnpack_refused);
  return notes;
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
    case CpuRuntime::kXnnpack:
      return "xnnpack";
  }
  return "auto";
}

StatusOr<CpuRuntime> ParseCpuRuntime(const std::string& text, const std::string& what) {
  if (text == "auto") return CpuRuntime::kAuto;
  if (text == "opencv") return CpuRuntime::kOpencv;
  if (text == "libtorch") return CpuRuntime::kLibtorch;
  if (text == "xnnpack") return CpuRuntime::kXnnpack;
  return InvalidArgument(what + " must be auto, opencv, xnnpack or libtorch, got '" + text + "'");
}

std::vector<CpuRuntime> CpuRuntimeCandidates(const CpuRuntimeInputs& in) {
  std::vector<CpuRuntime> candidates;
  if (in.has_onnx) candidates.push_back(CpuRuntime::kOpencv);
  if (in.has_onnx && in.xnnpack_loaded) candidates.push_back(CpuRuntime::kXnnpack);
  if (LibtorchCanRun(in)) candidates.push_back(CpuRuntime::kLibtorch);
  return candidates;
}

bool NeedsMeasurement(const CpuRuntimeInputs& in) {
  if (in.requested != CpuRuntime::kAuto) return false;
  const auto candidates = CpuRuntimeCandidates(in);
  if (candidates.size() < 2) return false;
  for (CpuRuntime r : candidates)
    if (!TimingOf(in, r)) return true;
  return false;
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
  auto pick = [&](CpuRuntime runtime, std::string reason) {
    d.runtime = runtime;
    d.reason = std::move(reason);
    return d;
  };
  switch (in.requested) {
    case CpuRuntime::kOpencv:
      return opencv("requested" + by);
    case CpuRuntime::kXnnpack:
      d.runtime = CpuRuntime::kXnnpack;
      if (!in.has_onnx) {
        d.status =
            FailedPrecondition("cpu runtime xnnpack requested" + by + " but the model has no onnx artifact");
        return d;
      }
      if (!in.xnnpack_loaded) {
        d.status =
            FailedPrecondition("cpu runtime xnnpack requested" + by + " but " +
                               (in.xnnpack_refused.empty() ? "it was not loaded" : in.xnnpack_refused));
        return d;
      }
      return pick(CpuRuntime::kXnnpack, "requested" + by);
    case CpuRuntime::kLibtorch:
      if (!in.has_torchscript)
        return opencv("libtorch requested" + by + " but the model has no TorchScript artifact");
      if (!in.libtorch_unavailable.empty()) {
        d.status =
            FailedPrecondition("cpu runtime libtorch requested" + by + " but " + in.libtorch_unavailable);
        d.runtime = CpuRuntime::kLibtorch;
        return d;
      }
      return pick(CpuRuntime::kLibtorch, "requested" + by);
    case CpuRuntime::kAuto:
      break;
  }
  if (!in.has_onnx) {
    if (LibtorchCanRun(in)) return pick(CpuRuntime::kLibtorch, "auto: the model has no onnx artifact");
    d.status = FailedPrecondition(in.has_torchscript ? "the model has only a TorchScript artifact and " +
                                                           in.libtorch_unavailable
                                                     : "the model has no onnx artifact");
    return d;
  }
  const std::vector<CpuRuntime> candidates = CpuRuntimeCandidates(in);
  const std::string left_out = LeftOut(in);
  if (candidates.size() == 1) return opencv("auto: " + (left_out.empty() ? "the only runtime" : left_out));
  for (CpuRuntime r : candidates)
    if (!TimingOf(in, r)) return opencv("auto: not measured");
  // The fastest; on a tie the earlier candidate (OpenCV needs no plugin and is the reference).
  CpuRuntime best = candidates.front();
  for (CpuRuntime r : candidates)
    if (*TimingOf(in, r) < *TimingOf(in, best)) best = r;
  std::string others;
  for (CpuRuntime r : candidates)
    if (r != best)
      others += (others.empty() ? "" : ", ") + std::string(CpuRuntimeName(r)) + " " + Ms(*TimingOf(in, r));
  return pick(best, "auto: measured " + Ms(*TimingOf(in, best)) + " vs " + others + " at load" +
                        (left_out.empty() ? "" : "; " + left_out));
}

}  // namespace accel
