// The libtorch runtime of the cpu device for cpu_path_bench, where this build has the nvidia engine
// (cpu_path_bench_libtorch.cc, linked statically as in the unit tests) or not
// (cpu_path_bench_no_libtorch.cc).
#pragma once

#include "engines/cpu/cpu_engine.h"

namespace accel {

// nullptr when this build has no libtorch.
LibtorchCpuEngineMaker BenchLibtorchCpuEngineMaker();

}  // namespace accel
