// A read-only, structured view of an ONNX model's graph (nodes with their attributes, float and integer
// initializers, declared inputs and outputs), read with the protobuf wire reader (onnx_wire.h). What the
// xnnpack runtime (xnnpack_net.h) builds its operators from. Constant nodes are folded into initializers.
// Field numbers are facts of onnx.proto.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace accel {

// ONNX TensorProto.DataType values this reader decodes.
constexpr int kOnnxFloat = 1, kOnnxInt32 = 6, kOnnxInt64 = 7;

struct OnnxTensor {
  std::string name;
  int data_type = 0;
  std::vector<int64_t> dims;
  std::vector<float> floats;     // data_type kOnnxFloat
  std::vector<int64_t> ints;     // data_type kOnnxInt32 or kOnnxInt64
  int64_t num_elements() const;  // -1 for a negative dimension or an overflowing product
};

struct OnnxAttribute {
  std::string name;
  int64_t i = 0;
  float f = 0;
  std::string s;
  std::vector<int64_t> ints;
  std::vector<float> floats;
  bool has_tensor = false;
  OnnxTensor t;
};

struct OnnxNode {
  std::string name, op_type, domain;
  std::vector<std::string> inputs, outputs;  // "" for an omitted optional input
  std::vector<OnnxAttribute> attributes;
  const OnnxAttribute* Attr(std::string_view attr_name) const;
  // "Conv 'name'" or "Conv #12 (output 'x')" for error messages.
  std::string Describe(size_t index) const;
};

struct OnnxValueInfo {
  std::string name;
  int elem_type = 0;
  std::vector<int64_t> dims;  // -1 for a symbolic or unknown dimension
};

struct OnnxGraph {
  std::vector<OnnxNode> nodes;     // in the file's (topological) order, Constant nodes removed
  std::vector<size_t> node_index;  // each node's index in the file, for messages
  std::map<std::string, OnnxTensor> initializers;
  std::vector<OnnxValueInfo> inputs;  // graph inputs that are not initializers
  std::vector<OnnxValueInfo> outputs;
};

// InvalidArgument for bytes that are not an ONNX ModelProto with one graph, or with a tensor this reader
// cannot decode (external data, an unsupported data type in an initializer).
StatusOr<OnnxGraph> ReadOnnxGraph(std::string_view model);

}  // namespace accel
