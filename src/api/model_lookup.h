// Finding the model a client means when it names a file rather than a model: Frigate's zmq detector sends the
// base name of its configured model path ("yolox_nano.onnx"), which Accel matches against the names of its
// models and the file names of their artifacts.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace accel {

class Scheduler;

struct ModelLookup {
  std::string model;       // the model matched; "" when none
  bool available = false;  // a model matched: loaded, or in the repository
  bool loaded = false;     // it is loaded and some ready device can serve it
};

// `client_name` matches a model when it equals (in this order of preference) the model's name, the name
// with a file extension ("yolox-nano.onnx"), or the file name of one of its artifacts ("yolox_nano.onnx",
// "yolox_nano.torchscript.pt"). Loaded models are searched first, then the models in `models_dir` that are
// not loaded (read from their model.yaml files; a folder whose model.yaml is broken matches nothing).
// Comparisons are exact (file names are case-sensitive where Frigate runs). Thread-safe.
ModelLookup LookupModel(const Scheduler& scheduler, const std::filesystem::path& models_dir,
                        std::string_view client_name);

}  // namespace accel
