// How the nvidia engine reads errors raised by libtorch. Kept free of torch headers so it is cheap to
// include and can be unit-tested without a GPU.
#pragma once

#include <string>
#include <string_view>

#include "core/status.h"

namespace accel {

enum class TorchErrorKind {
  // A CUDA runtime/driver error ("CUDA error: an illegal memory access was encountered", cudaError...,
  // cuBLAS/cuDNN execution failures). Many of these are sticky: the CUDA context of that device is
  // unusable for the rest of the process, so the engine marks the device failed and never runs on it
  // again (recreating the engine in the same process will normally hit the same error at load).
  kCudaError,
  // The caching allocator could not get memory. Not sticky: only the batch fails.
  kOutOfMemory,
  // Anything else (bad model file, shape mismatch inside the model, ...).
  kOther,
};

TorchErrorKind ClassifyTorchError(std::string_view message);
std::string_view TorchErrorKindName(TorchErrorKind kind);  // "cuda_error", "out_of_memory", "other"

// The Status an item gets for an error raised while running a batch. CUDA errors and out-of-memory are
// UNAVAILABLE (the scheduler retries the work on another device); anything else is INTERNAL.
// `message` is shortened to ErrorLineOf(message).
Status TorchErrorStatus(TorchErrorKind kind, std::string_view context, std::string_view message);

// The one line of a libtorch error message that says what went wrong, at most 300 characters: its first
// line (libtorch appends C++ backtraces), except for an error raised inside a TorchScript module, which
// libtorch wraps as "The following operation failed in the TorchScript interpreter.", a TorchScript
// traceback and, last, the error itself ("RuntimeError: CUDA error: ..."): then that last line.
std::string ErrorLineOf(std::string_view message);

}  // namespace accel
