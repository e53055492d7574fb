#include "engines/nvidia/torch_errors.h"

#include <gtest/gtest.h>

namespace accel {
namespace {

TEST(TorchErrors, CudaRuntimeErrorsFailTheDevice) {
  EXPECT_EQ(ClassifyTorchError("CUDA error: an illegal memory access was encountered\nCUDA kernel errors..."),
            TorchErrorKind::kCudaError);
  EXPECT_EQ(ClassifyTorchError("CUDA error: device-side assert triggered"), TorchErrorKind::kCudaError);
  EXPECT_EQ(ClassifyTorchError("cudaErrorLaunchFailure: unspecified launch failure"),
            TorchErrorKind::kCudaError);
  EXPECT_EQ(ClassifyTorchError("CUDA driver error: unknown error"), TorchErrorKind::kCudaError);
  EXPECT_EQ(ClassifyTorchError("CUDNN_STATUS_EXECUTION_FAILED"), TorchErrorKind::kCudaError);
}

TEST(TorchErrors, OutOfMemoryIsNotSticky) {
  EXPECT_EQ(ClassifyTorchError("CUDA out of memory. Tried to allocate 2.00 GiB"),
            TorchErrorKind::kOutOfMemory);
  EXPECT_EQ(ClassifyTorchError("CUDA error: out of memory"), TorchErrorKind::kOutOfMemory);
}

TEST(TorchErrors, OtherErrors) {
  EXPECT_EQ(ClassifyTorchError("Expected 4-dimensional input for 4-dimensional weight"),
            TorchErrorKind::kOther);
  EXPECT_EQ(ClassifyTorchError(""), TorchErrorKind::kOther);
}

TEST(TorchErrors, StatusCodesAndFirstLine) {
  Status cuda = TorchErrorStatus(TorchErrorKind::kCudaError, "nvidia:0", "CUDA error: x\nframe #0 ...");
  EXPECT_EQ(cuda.code(), StatusCode::kUnavailable);
  EXPECT_EQ(cuda.message(), "nvidia:0: CUDA error: x");
  EXPECT_EQ(TorchErrorStatus(TorchErrorKind::kOutOfMemory, "d", "m").code(), StatusCode::kUnavailable);
  EXPECT_EQ(TorchErrorStatus(TorchErrorKind::kOther, "d", "m").code(), StatusCode::kInternal);
  EXPECT_EQ(ErrorLineOf(std::string(500, 'a')).size(), 300u);
  EXPECT_EQ(TorchErrorKindName(TorchErrorKind::kCudaError), "cuda_error");
}

// An error raised inside a TorchScript module: the wrapper's first line says nothing, the last one says what.
TEST(TorchErrors, ErrorLineOfATorchScriptErrorIsItsLastLine) {
  const std::string wrapped =
      "The following operation failed in the TorchScript interpreter.\n"
      "Traceback of TorchScript (most recent call last):\n"
      "  File \"model.py\", line 12, in forward\n"
      "    return torch.gather(flat, 1, index)\n"
      "RuntimeError: CUDA error: device-side assert triggered\n";
  EXPECT_EQ(ErrorLineOf(wrapped), "RuntimeError: CUDA error: device-side assert triggered");
  Status status = TorchErrorStatus(ClassifyTorchError(wrapped), "nvidia:0", wrapped);
  EXPECT_EQ(status.code(), StatusCode::kUnavailable);
  EXPECT_EQ(status.message(), "nvidia:0: RuntimeError: CUDA error: device-side assert triggered");
  EXPECT_EQ(ErrorLineOf("The following operation failed in the TorchScript interpreter."),
            "The following operation failed in the TorchScript interpreter.");
  EXPECT_EQ(ErrorLineOf("CUDA error: x\nCUDA kernel errors might be asynchronously reported"),
            "CUDA error: x");
}

}  // namespace
}  // namespace accel
