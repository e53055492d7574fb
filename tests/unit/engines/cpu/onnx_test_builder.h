// A minimal ONNX ModelProto writer for tests: small graphs of named nodes, float and int64 initializers,
// one float input and declared outputs (field numbers of onnx.proto), written with onnx_wire.h.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engines/cpu/onnx_wire.h"

namespace accel::onnx_test {

using onnx_wire::AppendBytesField;
using onnx_wire::AppendVarintField;

inline std::string Dims(const std::vector<int64_t>& dims) {
  std::string shape;
  for (int64_t d : dims) {
    std::string dim;
    AppendVarintField(dim, 1, static_cast<uint64_t>(d));
    AppendBytesField(shape, 1, dim);
  }
  return shape;
}

inline std::string ValueInfo(const std::string& name, const std::vector<int64_t>& dims) {
  std::string tensor;
  AppendVarintField(tensor, 1, 1);  // float
  AppendBytesField(tensor, 2, Dims(dims));
  std::string type;
  AppendBytesField(type, 1, tensor);
  std::string info;
  AppendBytesField(info, 1, name);
  AppendBytesField(info, 2, type);
  return info;
}

struct Attr {
  std::string name;
  std::vector<int64_t> ints;
  bool is_list = true;
  std::string s;
};
inline Attr Int(const std::string& name, int64_t v) { return {name, {v}, false, {}}; }
inline Attr Ints(const std::string& name, std::vector<int64_t> v) { return {name, std::move(v), true, {}}; }
inline Attr Str(const std::string& name, const std::string& s) { return {name, {}, false, s}; }

class GraphBuilder {
 public:
  GraphBuilder(const std::string& input, std::vector<int64_t> shape) {
    inputs_ += ValueInfo(input, shape), input_shape_ = shape;
  }

  void Node(const std::string& op, std::vector<std::string> ins, const std::string& out,
            std::vector<Attr> attrs = {}) {
    std::string node;
    for (const auto& in : ins) AppendBytesField(node, 1, in);
    AppendBytesField(node, 2, out);
    AppendBytesField(node, 4, op);
    for (const Attr& a : attrs) {
      std::string attr;
      AppendBytesField(attr, 1, a.name);
      if (!a.s.empty()) {
        AppendBytesField(attr, 4, a.s);
        AppendVarintField(attr, 20, 3);
      } else if (a.is_list) {
        for (int64_t v : a.ints) AppendVarintField(attr, 8, static_cast<uint64_t>(v));
        AppendVarintField(attr, 20, 7);
      } else {
        AppendVarintField(attr, 3, static_cast<uint64_t>(a.ints[0]));
        AppendVarintField(attr, 20, 2);
      }
      AppendBytesField(node, 5, attr);
    }
    AppendBytesField(nodes_, 1, node);
  }
  void Floats(const std::string& name, const std::vector<int64_t>& dims, const std::vector<float>& v) {
    std::string t;
    for (int64_t d : dims) AppendVarintField(t, 1, static_cast<uint64_t>(d));
    AppendVarintField(t, 2, 1);
    AppendBytesField(t, 8, name);
    AppendBytesField(t, 9, std::string_view(reinterpret_cast<const char*>(v.data()), v.size() * 4));
    AppendBytesField(initializers_, 5, t);
  }
  void Int64s(const std::string& name, const std::vector<int64_t>& v) {
    std::string t;
    AppendVarintField(t, 1, v.size());
    AppendVarintField(t, 2, 7);
    AppendBytesField(t, 8, name);
    AppendBytesField(t, 9, std::string_view(reinterpret_cast<const char*>(v.data()), v.size() * 8));
    AppendBytesField(initializers_, 5, t);
  }
  void OutputField(const std::string& name, const std::vector<int64_t>& dims) {
    AppendBytesField(output_fields_, 12, ValueInfo(name, dims));
  }

  std::string Model() const {
    std::string graph = nodes_;
    AppendBytesField(graph, 2, "test");
    graph += initializers_;
    std::string in;
    AppendBytesField(in, 11, inputs_);
    graph += in + output_fields_;
    std::string opset;
    AppendVarintField(opset, 2, 11);
    std::string model;
    AppendVarintField(model, 1, 7);
    AppendBytesField(model, 8, opset);
    AppendBytesField(model, 7, graph);
    return model;
  }
  const std::vector<int64_t>& input_shape() const { return input_shape_; }

 private:
  std::string nodes_, initializers_, inputs_, output_fields_;
  std::vector<int64_t> input_shape_;
};

}  // namespace accel::onnx_test
