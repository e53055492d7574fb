#include "engines/nvidia/torch_errors.h"

#include <array>

namespace accel {

namespace {

bool Contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

}  // namespace

TorchErrorKind ClassifyTorchError(std::string_view message) {
  // Out of memory first: "CUDA error: out of memory" (a raw cudaMalloc failure) is not sticky either.
  if (Contains(message, "CUDA out of memory") || Contains(message, "CUDA error: out of memory") ||
      Contains(message, "cudaErrorMemoryAllocation")) {
    return TorchErrorKind::kOutOfMemory;
  }
  static constexpr std::array<std::string_view, 6> kCudaMarkers = {"CUDA error",
                                                                   "cudaError",
                                                                   "CUDA driver error",
                                                                   "CUBLAS_STATUS_EXECUTION_FAILED",
                                                                   "CUDNN_STATUS_EXECUTION_FAILED",
                                                                   "CUDNN_STATUS_INTERNAL_ERROR"};
  for (std::string_view marker : kCudaMarkers) {
    if (Contains(message, marker)) return TorchErrorKind::kCudaError;
  }
  return TorchErrorKind::kOther;
}

std::string_view TorchErrorKindName(TorchErrorKind kind) {
  switch (kind) {
    case TorchErrorKind::kCudaError:
      return "cuda_error";
    case TorchErrorKind::kOutOfMemory:
      return "out_of_memory";
    case TorchErrorKind::kOther:
      return "other";
  }
  return "other";
}

std::string ErrorLineOf(std::string_view message) {
  std::string_view line = message.substr(0, message.find('\n'));
  if (line.starts_with("The following operation failed in the TorchScript interpreter")) {
    std::string_view rest = message;
    while (!rest.empty() && (rest.back() == '\n' || rest.back() == ' ')) rest.remove_suffix(1);
    size_t start = rest.rfind('\n');
    if (start != std::string_view::npos) line = rest.substr(start + 1);
  }
  std::string text(line);
  if (text.size() > 300) text = text.substr(0, 297) + "...";
  return text;
}

Status TorchErrorStatus(TorchErrorKind kind, std::string_view context, std::string_view message) {
  std::string text = std::string(context) + ": " + ErrorLineOf(message);
  switch (kind) {
    case TorchErrorKind::kCudaError:
      return Unavailable(text);
    case TorchErrorKind::kOutOfMemory:
      return Unavailable(text);
    case TorchErrorKind::kOther:
      return Internal(text);
  }
  return Internal(text);
}

}  // namespace accel
