// cpu engine: runs ONNX artifacts with OpenCV DNN on the host CPU. Always built.
#pragma once

#include <functional>
#include <memory>

#include "engines/engine.h"

namespace accel {

// Creates the libtorch engine on the CPU that serves the models whose cpu runtime is libtorch
// (cpu_runtime_choice.h). `options` are nvidia engine options (threads, streams, max_in_flight). Called at
// most once per cpu engine, from its first Load of a model with a TorchScript artifact; an error (the
// plugin is not installed) is the reason auto falls back to OpenCV.
using LibtorchCpuEngineMaker = std::function<StatusOr<std::unique_ptr<Engine>>(const EngineOptions& options)>;

// Says, without loading anything, whether the libtorch runtime could be loaded: "plugin found at PATH" or
// "not installed: ..." (Probe's `libtorch` property, shown by `accel devices`).
using LibtorchCpuPresence = std::function<std::string()>;

// Options: see OptionSpecs() in cpu_engine.cc (threads, mode, instances, graph_rewrite, runtime).
// Without a maker, libtorch is "not installed" and every model runs on OpenCV DNN.
std::unique_ptr<EngineFactory> MakeCpuEngineFactory(LibtorchCpuEngineMaker libtorch_maker = nullptr,
                                                    LibtorchCpuPresence libtorch_presence = nullptr);

}  // namespace accel
