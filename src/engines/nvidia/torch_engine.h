// nvidia engine: runs TorchScript (and, with libtorch >= 2.6, AOTInductor .pt2) artifacts through libtorch,
// one Engine per visible CUDA GPU. libtorch is visible to this folder only.
//
// Devices: "nvidia:<cuda index>" for each GPU CUDA sees in this process (CUDA_VISIBLE_DEVICES applies).
// With `expose_cpu_device`, also "nvidia-cpu:0": the same engine code on libtorch's CPU device, so tests
// and CI without a GPU exercise the whole path. That device is marked test_only and named as what it is;
// it is not NVIDIA support.
//
// Options (EngineOptions):
//   streams=N        worker threads, each with its own CUDA stream (default 2 on a GPU, 1 on the CPU device)
//   max_batch=N      largest batch Submit accepts (default 32)
//   freeze=0|1       torch::jit::freeze the module after loading (default 1)
//   optimize=0|1     torch::jit::optimize_for_inference after freezing (default 0)
//   threads=N        libtorch intra-op threads (process-wide setting; default: libtorch's)
//   test_fail_batch=N  CPU test device only: the Nth batch run raises a (fake) CUDA error, to test the
//                      sticky-failure path without a GPU. Refused on real GPUs.
#pragma once

#include <memory>

#include "engines/engine.h"

namespace accel {

std::unique_ptr<EngineFactory> MakeTorchEngineFactory(bool expose_cpu_device);

}  // namespace accel
