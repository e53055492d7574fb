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
  EXPECT_EQ(FirstLineOf(std::string(500, 'a')).size(), 300u);
  EXPECT_EQ(TorchErrorKindName(TorchErrorKind::kCudaError), "cuda_error");
}

}  // namespace
}  // namespace accel
