// Options of the nvidia engine (keys of EngineOptions). Header-only and SDK-free: the host declares them
// through the plugin loader's factory (so `accel serve --help` lists them without mapping libtorch) and the
// plugin's factory (torch_engine.cc) reads them; both include this one table.
#pragma once

#include <vector>

#include "engines/engine_options.h"

namespace accel {

inline std::vector<EngineOptionSpec> NvidiaOptionSpecs() {
  using T = EngineOptionType;
  return {
      {.key = "streams",
       .type = T::kInt,
       .default_value = "",
       .help = "worker threads per device, each with its own CUDA stream (default 2 on a GPU, 1 on the CPU "
               "test device)",
       .min = 1,
       .max = 8},
      {.key = "max_batch",
       .type = T::kInt,
       .default_value = "32",
       .help = "largest batch per run",
       .min = 1,
       .max = 1024},
      {.key = "max_in_flight",
       .type = T::kInt,
       .default_value = "2",
       .help = "batches queued on a device before the scheduler waits",
       .min = 1,
       .max = 16},
      {.key = "freeze",
       .type = T::kBool,
       .default_value = "true",
       .help = "torch::jit::freeze TorchScript modules after loading"},
      {.key = "optimize",
       .type = T::kBool,
       .default_value = "false",
       .help = "torch::jit::optimize_for_inference after freezing"},
      {.key = "threads",
       .type = T::kInt,
       .default_value = "0",
       .help = "libtorch intra-op threads, process-wide (0: libtorch's default)",
       .min = 0,
       .max = 1024},
      {.key = "tf32",
       .type = T::kBool,
       .default_value = "false",
       .help = "TF32 for float32 convolutions and matrix products on GPUs that have it: faster, about 1e-3 "
               "relative error; process-wide (false: full float32, as the differential test needs)"},
      {.key = "test_fail_batch",
       .type = T::kInt,
       .default_value = "-1",
       .help = "tests only, CPU test device only: the Nth batch fails with a fake CUDA error (-1: never)",
       .min = -1,
       .max = 1 << 30},
  };
}

}  // namespace accel
