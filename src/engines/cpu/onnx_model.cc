#include "engines/cpu/onnx_model.h"

#include <cstring>

#include "engines/cpu/onnx_wire.h"

namespace accel {
namespace {

using onnx_wire::Field;

constexpr uint32_t kModelGraph = 7;
constexpr uint32_t kGraphNode = 1, kGraphInitializer = 5, kGraphInput = 11, kGraphOutput = 12;
constexpr uint32_t kNodeInput = 1, kNodeOutput = 2, kNodeName = 3, kNodeOpType = 4, kNodeAttribute = 5,
                   kNodeDomain = 7;
constexpr uint32_t kAttrName = 1, kAttrFloat = 2, kAttrInt = 3, kAttrString = 4, kAttrTensor = 5,
                   kAttrFloats = 7, kAttrInts = 8;
constexpr uint32_t kTensorDims = 1, kTensorDataType = 2, kTensorFloatData = 4, kTensorInt32Data = 5,
                   kTensorInt64Data = 7, kTensorName = 8, kTensorRawData = 9, kTensorDataLocation = 14;
constexpr uint32_t kValueInfoName = 1, kValueInfoType = 2, kTypeTensor = 1, kTensorTypeElemType = 1,
                   kTensorTypeShape = 2, kShapeDim = 1, kDimValue = 1;

bool IsBytes(const Field& f) { return f.wire_type == onnx_wire::kLengthDelimited; }

// Packed (length-delimited) or single (fixed32) floats.
bool AppendFloats(const Field& f, std::vector<float>& out) {
  if (f.bytes.size() % 4 != 0 || (f.wire_type != onnx_wire::kFixed32 && !IsBytes(f))) return false;
  const size_t n = f.bytes.size() / 4;
  const size_t old = out.size();
  out.resize(old + n);
  if (n > 0) std::memcpy(out.data() + old, f.bytes.data(), n * 4);  // little-endian, as are our targets
  return true;
}

StatusOr<OnnxTensor> ParseTensor(std::string_view bytes) {
  ACCEL_ASSIGN_OR_RETURN(std::vector<Field> fields, onnx_wire::ParseMessage(bytes));
  OnnxTensor t;
  std::string_view raw;
  bool have_raw = false, ok = true;
  for (const Field& f : fields) {
    switch (f.number) {
      case kTensorDims:
        ok = ok && onnx_wire::AppendVarints(f, t.dims);
        break;
      case kTensorDataType:
        t.data_type = static_cast<int>(f.varint);
        break;
      case kTensorFloatData:
        ok = ok && AppendFloats(f, t.floats);
        break;
      case kTensorInt32Data:
      case kTensorInt64Data:
        ok = ok && onnx_wire::AppendVarints(f, t.ints);
        break;
      case kTensorName:
        if (IsBytes(f)) t.name = std::string(f.bytes);
        break;
      case kTensorRawData:
        raw = f.bytes, have_raw = IsBytes(f);
        break;
      case kTensorDataLocation:
        if (f.varint != 0) return InvalidArgument("tensor '" + t.name + "' has external data");
        break;
      default:
        break;
    }
  }
  if (!ok) return InvalidArgument("tensor '" + t.name + "': malformed data");
  if (t.data_type == kOnnxInt32)
    for (auto& v : t.ints) v = static_cast<int32_t>(v);
  if (have_raw) {
    const size_t width = t.data_type == kOnnxInt64 ? 8 : 4;
    if (t.data_type != kOnnxFloat && t.data_type != kOnnxInt32 && t.data_type != kOnnxInt64)
      return InvalidArgument("tensor '" + t.name + "' has data type " + std::to_string(t.data_type) +
                             " (only float, int32 and int64 are read)");
    if (raw.size() % width != 0) return InvalidArgument("tensor '" + t.name + "': raw data size");
    const size_t n = raw.size() / width;
    if (t.data_type == kOnnxFloat) {
      t.floats.resize(n);
      if (n > 0) std::memcpy(t.floats.data(), raw.data(), raw.size());
    } else {
      t.ints.resize(n);
      for (size_t i = 0; i < n; ++i) {
        if (width == 8) {
          std::memcpy(&t.ints[i], raw.data() + i * 8, 8);
        } else {
          int32_t v;
          std::memcpy(&v, raw.data() + i * 4, 4);
          t.ints[i] = v;
        }
      }
    }
  }
  const size_t count = t.data_type == kOnnxFloat ? t.floats.size() : t.ints.size();
  if (static_cast<int64_t>(count) != t.num_elements() &&
      (t.data_type == kOnnxFloat || t.data_type == kOnnxInt32 || t.data_type == kOnnxInt64))
    return InvalidArgument("tensor '" + t.name + "': " + std::to_string(count) + " values for its dims");
  return t;
}

StatusOr<OnnxAttribute> ParseAttribute(std::string_view bytes) {
  ACCEL_ASSIGN_OR_RETURN(std::vector<Field> fields, onnx_wire::ParseMessage(bytes));
  OnnxAttribute a;
  bool ok = true;
  for (const Field& f : fields) {
    if (f.number == kAttrName && IsBytes(f)) a.name = std::string(f.bytes);
    if (f.number == kAttrFloat && f.wire_type == onnx_wire::kFixed32) std::memcpy(&a.f, f.bytes.data(), 4);
    if (f.number == kAttrInt && f.wire_type == onnx_wire::kVarint) a.i = static_cast<int64_t>(f.varint);
    if (f.number == kAttrString && IsBytes(f)) a.s = std::string(f.bytes);
    if (f.number == kAttrInts) ok = ok && onnx_wire::AppendVarints(f, a.ints);
    if (f.number == kAttrFloats) ok = ok && AppendFloats(f, a.floats);
    if (f.number == kAttrTensor && IsBytes(f)) {
      ACCEL_ASSIGN_OR_RETURN(a.t, ParseTensor(f.bytes));
      a.has_tensor = true;
    }
  }
  if (!ok) return InvalidArgument("attribute '" + a.name + "': malformed");
  return a;
}

StatusOr<OnnxNode> ParseNode(std::string_view bytes) {
  ACCEL_ASSIGN_OR_RETURN(std::vector<Field> fields, onnx_wire::ParseMessage(bytes));
  OnnxNode node;
  for (const Field& f : fields) {
    if (!IsBytes(f)) continue;
    if (f.number == kNodeInput) node.inputs.emplace_back(f.bytes);
    if (f.number == kNodeOutput) node.outputs.emplace_back(f.bytes);
    if (f.number == kNodeName) node.name = std::string(f.bytes);
    if (f.number == kNodeOpType) node.op_type = std::string(f.bytes);
    if (f.number == kNodeDomain) node.domain = std::string(f.bytes);
    if (f.number == kNodeAttribute) {
      ACCEL_ASSIGN_OR_RETURN(OnnxAttribute a, ParseAttribute(f.bytes));
      node.attributes.push_back(std::move(a));
    }
  }
  return node;
}

StatusOr<OnnxValueInfo> ParseValueInfo(std::string_view bytes) {
  OnnxValueInfo info;
  ACCEL_ASSIGN_OR_RETURN(std::vector<Field> fields, onnx_wire::ParseMessage(bytes));
  for (const Field& f : fields) {
    if (!IsBytes(f)) continue;
    if (f.number == kValueInfoName) info.name = std::string(f.bytes);
    if (f.number != kValueInfoType) continue;
    ACCEL_ASSIGN_OR_RETURN(std::vector<Field> type, onnx_wire::ParseMessage(f.bytes));
    for (const Field& t : type) {
      if (t.number != kTypeTensor || !IsBytes(t)) continue;
      ACCEL_ASSIGN_OR_RETURN(std::vector<Field> tensor, onnx_wire::ParseMessage(t.bytes));
      for (const Field& x : tensor) {
        if (x.number == kTensorTypeElemType && x.wire_type == onnx_wire::kVarint)
          info.elem_type = static_cast<int>(x.varint);
        if (x.number != kTensorTypeShape || !IsBytes(x)) continue;
        ACCEL_ASSIGN_OR_RETURN(std::vector<Field> shape, onnx_wire::ParseMessage(x.bytes));
        for (const Field& d : shape) {
          if (d.number != kShapeDim || !IsBytes(d)) continue;
          ACCEL_ASSIGN_OR_RETURN(std::vector<Field> dim, onnx_wire::ParseMessage(d.bytes));
          int64_t value = -1;
          for (const Field& v : dim)
            if (v.number == kDimValue && v.wire_type == onnx_wire::kVarint)
              value = static_cast<int64_t>(v.varint);
          info.dims.push_back(value);
        }
      }
    }
  }
  return info;
}

}  // namespace

int64_t OnnxTensor::num_elements() const {
  int64_t n = 1;
  for (int64_t d : dims)
    if (d < 0 || __builtin_mul_overflow(n, d, &n)) return -1;
  return n;
}

const OnnxAttribute* OnnxNode::Attr(std::string_view attr_name) const {
  for (const auto& a : attributes)
    if (a.name == attr_name) return &a;
  return nullptr;
}

std::string OnnxNode::Describe(size_t index) const {
  if (!name.empty()) return op_type + " '" + name + "'";
  return op_type + " #" + std::to_string(index) +
         (outputs.empty() ? std::string() : " (output '" + outputs[0] + "')");
}

StatusOr<OnnxGraph> ReadOnnxGraph(std::string_view model) {
  ACCEL_ASSIGN_OR_RETURN(std::vector<Field> fields, onnx_wire::ParseMessage(model));
  std::string_view graph_bytes;
  int graphs = 0;
  for (const Field& f : fields)
    if (f.number == kModelGraph && IsBytes(f)) graph_bytes = f.bytes, ++graphs;
  if (graphs != 1) return InvalidArgument("not an ONNX model with one graph");
  ACCEL_ASSIGN_OR_RETURN(std::vector<Field> graph_fields, onnx_wire::ParseMessage(graph_bytes));
  OnnxGraph graph;
  std::vector<OnnxValueInfo> declared_inputs;
  size_t index = 0;
  for (const Field& f : graph_fields) {
    if (!IsBytes(f)) continue;
    if (f.number == kGraphNode) {
      ACCEL_ASSIGN_OR_RETURN(OnnxNode node, ParseNode(f.bytes));
      const size_t this_index = index++;
      if (node.op_type == "Constant" && node.outputs.size() == 1) {
        const OnnxAttribute* value = node.Attr("value");
        if (value == nullptr || !value->has_tensor)
          return InvalidArgument(node.Describe(this_index) + ": only a tensor 'value' is supported");
        OnnxTensor t = value->t;
        t.name = node.outputs[0];
        graph.initializers[t.name] = std::move(t);
        continue;
      }
      graph.nodes.push_back(std::move(node));
      graph.node_index.push_back(this_index);
    } else if (f.number == kGraphInitializer) {
      ACCEL_ASSIGN_OR_RETURN(OnnxTensor t, ParseTensor(f.bytes));
      graph.initializers[t.name] = std::move(t);
    } else if (f.number == kGraphInput || f.number == kGraphOutput) {
      ACCEL_ASSIGN_OR_RETURN(OnnxValueInfo info, ParseValueInfo(f.bytes));
      (f.number == kGraphInput ? declared_inputs : graph.outputs).push_back(std::move(info));
    }
  }
  for (auto& in : declared_inputs)
    if (!graph.initializers.count(in.name)) graph.inputs.push_back(std::move(in));
  return graph;
}

}  // namespace accel
