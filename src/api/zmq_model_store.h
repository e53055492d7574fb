// ZmqModelStore: where Frigate's zmq model uploads (`model_data`) go when the operator allows them
// (--zmq-accept-models DIR). Frigate sends the base name of its model path and the file's bytes; the store
// accepts ONNX files only (checked by content, not by name), saves each as DIR/<model>/<model>.onnx under a
// name reduced to safe characters, and describes it in DIR/<model>/model.yaml so that it loads like a
// repository model.
//
// model.yaml: an operator may write DIR/<model>/model.yaml beforehand (any decoder, labels, input
// settings; its cpu artifact must be <model>.onnx); the store then keeps it. Otherwise the store writes one
// from the file's own signature, which it can do for the YOLOX head layout (one input [N,3,H,W] or
// [N,H,W,3], one output [N, anchors, 5 + classes] with anchors = the cells of strides 8, 16 and 32); other
// layouts are refused with a message that says what to write (and the file is not kept).
//
// Nothing is ever written outside DIR: the model name keeps only [A-Za-z0-9._-] (no leading '.' or '-',
// at most 64 characters), the model's folder must be a real folder (not a link), and files are written to
// a fresh temporary name and renamed into place.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>

#include "core/onnx_info.h"
#include "core/status.h"

namespace accel {

class ZmqModelStore {
 public:
  // `dir` is created when missing. `max_models`: model folders DIR may hold; an upload that would add one
  // more is refused (each is a file on disk and a model in memory).
  ZmqModelStore(std::filesystem::path dir, size_t max_models = 16);

  // Creates the folder; Unavailable when it cannot.
  Status Open() const;

  // The model name an upload named `client_name` gets: the base name (after the last '/' or '\'), less its
  // extension, with every character outside [A-Za-z0-9._-] replaced by '_' and leading '.' and '-' removed.
  // InvalidArgument when nothing is left.
  static StatusOr<std::string> ModelNameFor(std::string_view client_name);

  // Checks `bytes` (an ONNX model), saves it and its model.yaml as described above, and returns the
  // model.yaml's path. On an error nothing new is left behind.
  // One caller at a time.
  StatusOr<std::filesystem::path> Save(std::string_view client_name, std::string_view bytes) const;

  const std::filesystem::path& dir() const { return dir_; }

 private:
  std::filesystem::path dir_;
  size_t max_models_;
};

// The model.yaml text the store writes for an ONNX model with `signature` (see above); InvalidArgument
// saying why when its layout is not one it can describe. Exposed for tests.
StatusOr<std::string> GeneratedModelYaml(const std::string& model_name, const std::string& file_name,
                                         const OnnxSignature& signature);

// The first line of every model.yaml the store writes; a model.yaml without it is the operator's and is kept.
inline constexpr std::string_view kGeneratedYamlMarker = "# Written by accel for a Frigate zmq upload.";

}  // namespace accel
