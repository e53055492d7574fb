// cpu engine: runs ONNX artifacts with OpenCV DNN on the host CPU. Always built.
#pragma once

#include <memory>

#include "engines/engine.h"

namespace accel {

// Options: see OptionSpecs() in cpu_engine.cc (threads, mode, instances, graph_rewrite).
std::unique_ptr<EngineFactory> MakeCpuEngineFactory();

}  // namespace accel
