// OnnxSignature: what an ONNX file says about its graph's inputs and outputs, read straight from the
// protobuf encoding (no ONNX runtime, no generated code). Used to tell an ONNX model from other bytes before
// a file from outside is saved, and to describe an uploaded model whose model.yaml nobody wrote.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace accel {

struct OnnxTensorInfo {
  std::string name;
  int elem_type = 0;          // TensorProto.DataType: 1 float, 2 uint8, 3 int8, 7 int64, 10 float16, ...
  std::vector<int64_t> dims;  // -1 for a symbolic or unknown dimension
  bool has_shape = false;     // false: the file declares no shape at all
};

struct OnnxSignature {
  int64_t ir_version = 0;
  std::string producer;                // producer_name, e.g. "pytorch"
  std::vector<OnnxTensorInfo> inputs;  // graph inputs that are not initializers (weights)
  std::vector<OnnxTensorInfo> outputs;
};

// Parses `bytes` as an ONNX ModelProto far enough to list the graph's inputs and outputs. Every field is
// bounds-checked: truncated or random bytes, and files of other formats (TorchScript zips, TFLite, HEF),
// give InvalidArgument saying why, never a crash. A file needs an IR version and a graph with at least one
// input and one output to count as ONNX. Thread-safe; reads nothing but `bytes`.
StatusOr<OnnxSignature> ReadOnnxSignature(std::string_view bytes);

// "float32", "uint8", ... for an elem_type; "type <n>" for the others.
std::string OnnxElemTypeName(int elem_type);

}  // namespace accel
