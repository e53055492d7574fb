// cpu engine: runs ONNX artifacts with OpenCV DNN on the host CPU. Always built.
#pragma once

#include <memory>

#include "engines/engine.h"

namespace accel {

// Options (EngineOptions): threads=N (OpenCV's thread count; default: all cores).
std::unique_ptr<EngineFactory> MakeCpuEngineFactory();

}  // namespace accel
