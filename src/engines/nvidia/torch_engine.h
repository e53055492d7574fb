// nvidia engine: runs TorchScript (and, with libtorch >= 2.6, AOTInductor .pt2) artifacts through libtorch,
// one Engine per visible CUDA GPU. libtorch is visible to this folder only.
//
// Devices: "nvidia:<cuda index>" for each GPU CUDA sees in this process (CUDA_VISIBLE_DEVICES applies).
// With `expose_cpu_device`, also "nvidia-cpu:0": the same engine code on libtorch's CPU device, so tests
// and CI without a GPU exercise the whole path. That device is marked test_only and named as what it is;
// it is not NVIDIA support.
//
// Options: NvidiaOptionSpecs() (nvidia_options.h).
#pragma once

#include <memory>

#include "engines/engine.h"

namespace accel {

std::unique_ptr<EngineFactory> MakeTorchEngineFactory(bool expose_cpu_device);

}  // namespace accel
