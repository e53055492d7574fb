// Hand-encoded ONNX files for tests: the protobuf wire format written field by field (onnx.proto's field
// numbers), so tests can build exactly the graph signature they need, and broken variants of it, without an
// exporter.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace accel::onnx_test {

inline std::string Varint(uint64_t v) {
  std::string out;
  do {
    uint8_t byte = v & 0x7f;
    v >>= 7;
    if (v) byte |= 0x80;
    out += static_cast<char>(byte);
  } while (v);
  return out;
}
inline std::string Key(uint32_t field, int wire_type) { return Varint((uint64_t{field} << 3) | wire_type); }
inline std::string VarintField(uint32_t field, uint64_t v) { return Key(field, 0) + Varint(v); }
inline std::string BytesField(uint32_t field, const std::string& bytes) {
  return Key(field, 2) + Varint(bytes.size()) + bytes;
}

// ValueInfoProto of a tensor: dims > 0 are dim_value, 0 a symbolic dim_param ("batch"); `shape` false leaves
// the shape out.
inline std::string ValueInfo(const std::string& name, int elem_type, const std::vector<int64_t>& dims,
                             bool shape = true) {
  std::string shape_bytes;
  for (int64_t d : dims)
    shape_bytes += BytesField(1, d > 0 ? VarintField(1, static_cast<uint64_t>(d)) : BytesField(2, "batch"));
  std::string tensor = VarintField(1, static_cast<uint64_t>(elem_type));
  if (shape) tensor += BytesField(2, shape_bytes);
  return BytesField(1, name) + BytesField(2, BytesField(1, tensor));
}

// GraphProto with these inputs and outputs (ValueInfo bytes), and initializers named `weights` (also listed
// as inputs, as files before IR version 4 do).
inline std::string Graph(const std::vector<std::string>& inputs, const std::vector<std::string>& outputs,
                         const std::vector<std::string>& weights = {}) {
  std::string graph = BytesField(2, "test-graph");
  for (const auto& w : weights) {
    graph += BytesField(5, VarintField(1, 1) + BytesField(8, w) + BytesField(9, std::string(64, '\x01')));
    graph += BytesField(11, ValueInfo(w, 1, {1}));
  }
  for (const auto& i : inputs) graph += BytesField(11, i);
  for (const auto& o : outputs) graph += BytesField(12, o);
  return graph;
}

// ModelProto: IR version, producer, opset import, graph.
inline std::string Model(const std::string& graph, uint64_t ir_version = 7) {
  return VarintField(1, ir_version) + BytesField(2, "accel-test") + BytesField(8, VarintField(2, 13)) +
         BytesField(7, graph);
}

// A YOLOX-shaped model: images float32 [batch, 3, size, size] -> output float32 [batch, anchors, 5 +
// classes].
inline std::string YoloxModel(int size, int classes, int64_t batch = 1) {
  int64_t anchors = 0;
  for (int s : {8, 16, 32}) anchors += int64_t{size / s} * (size / s);
  return Model(Graph({ValueInfo("images", 1, {batch, 3, size, size})},
                     {ValueInfo("output", 1, {batch, anchors, 5 + classes})}));
}

}  // namespace accel::onnx_test
