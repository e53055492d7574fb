#include "cpu_path_bench_runtimes.h"

namespace accel {

LibtorchCpuEngineMaker BenchLibtorchCpuEngineMaker() { return nullptr; }

}  // namespace accel
