// Whether the libtorch this is compiled against has AOTInductor's package loader (libtorch >= 2.6):
// ACCEL_TORCH_HAS_AOTI is 1 and torch::inductor::AOTIModelPackageLoader is declared, else 0. Include only
// from files that include libtorch already (torch_engine.cc, bench/torch_bench.cc).
#pragma once

#include <torch/version.h>

#if (TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 6)) && \
    __has_include(<torch/csrc/inductor/aoti_package/model_package_loader.h>)
#include <torch/csrc/inductor/aoti_package/model_package_loader.h>
#define ACCEL_TORCH_HAS_AOTI 1
#else
#define ACCEL_TORCH_HAS_AOTI 0
#endif
