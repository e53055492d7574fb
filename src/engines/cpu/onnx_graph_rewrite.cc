#include "engines/cpu/onnx_graph_rewrite.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <optional>
#include <set>

#include "engines/cpu/onnx_wire.h"

namespace accel {
namespace {

using onnx_wire::Field;

// Field numbers of onnx.proto.
constexpr uint32_t kModelGraph = 7;
constexpr uint32_t kGraphNode = 1, kGraphInitializer = 5, kGraphInput = 11, kGraphOutput = 12;
constexpr uint32_t kNodeInput = 1, kNodeOutput = 2, kNodeOpType = 4, kNodeAttribute = 5;
constexpr uint32_t kAttrName = 1, kAttrInt = 3, kAttrTensor = 5, kAttrInts = 8, kAttrType = 20;
constexpr int kAttrTypeInts = 7;
constexpr uint32_t kTensorDataType = 2, kTensorInt32Data = 5, kTensorInt64Data = 7, kTensorName = 8,
                   kTensorRawData = 9;
constexpr uint32_t kValueInfoName = 1, kValueInfoType = 2, kTypeTensor = 1, kTensorTypeElemType = 1,
                   kTensorTypeShape = 2, kShapeDim = 1, kDimValue = 1;
constexpr int kOnnxInt32 = 6, kOnnxInt64 = 7;

struct Node {
  std::vector<std::string> inputs, outputs;
  std::string op_type;
  std::vector<Field> other;                 // name, attributes, doc string, domain: written back unchanged
  std::vector<std::string> new_attributes;  // encoded AttributeProtos a rewrite added
  bool removed = false;
};

StatusOr<Node> ParseNode(std::string_view bytes) {
  ACCEL_ASSIGN_OR_RETURN(std::vector<Field> fields, onnx_wire::ParseMessage(bytes));
  Node node;
  for (const Field& f : fields) {
    const bool text = f.wire_type == onnx_wire::kLengthDelimited;
    if (text && f.number == kNodeInput)
      node.inputs.emplace_back(f.bytes);
    else if (text && f.number == kNodeOutput)
      node.outputs.emplace_back(f.bytes);
    else if (text && f.number == kNodeOpType)
      node.op_type = std::string(f.bytes);
    else
      node.other.push_back(f);
  }
  return node;
}

std::string SerializeNode(const Node& node) {
  std::string out;
  for (const auto& in : node.inputs) onnx_wire::AppendBytesField(out, kNodeInput, in);
  for (const auto& o : node.outputs) onnx_wire::AppendBytesField(out, kNodeOutput, o);
  onnx_wire::AppendBytesField(out, kNodeOpType, node.op_type);
  for (const Field& f : node.other) onnx_wire::AppendField(out, f);
  for (const auto& a : node.new_attributes) onnx_wire::AppendBytesField(out, kNodeAttribute, a);
  return out;
}

// The integer values of an INT64 or INT32 TensorProto; nullopt for other types or malformed data.
std::optional<std::vector<int64_t>> TensorInts(std::string_view tensor) {
  auto fields = onnx_wire::ParseMessage(tensor);
  if (!fields.ok()) return std::nullopt;
  int data_type = 0;
  std::vector<int64_t> values;
  std::string_view raw;
  bool have_raw = false;
  for (const Field& f : *fields) {
    if (f.number == kTensorDataType && f.wire_type == onnx_wire::kVarint)
      data_type = static_cast<int>(f.varint);
    if ((f.number == kTensorInt64Data || f.number == kTensorInt32Data) &&
        !onnx_wire::AppendVarints(f, values))
      return std::nullopt;
    if (f.number == kTensorRawData && f.wire_type == onnx_wire::kLengthDelimited)
      raw = f.bytes, have_raw = true;
  }
  if (data_type != kOnnxInt64 && data_type != kOnnxInt32) return std::nullopt;
  if (have_raw) {
    const size_t width = data_type == kOnnxInt64 ? 8 : 4;
    if (raw.size() % width != 0) return std::nullopt;
    values.clear();
    for (size_t i = 0; i < raw.size(); i += width) {
      if (width == 8) {
        int64_t v;
        std::memcpy(&v, raw.data() + i, 8);  // ONNX raw_data is little-endian, as are our targets
        values.push_back(v);
      } else {
        int32_t v;
        std::memcpy(&v, raw.data() + i, 4);
        values.push_back(v);
      }
    }
  } else if (data_type == kOnnxInt32) {
    for (auto& v : values) v = static_cast<int32_t>(v);  // int32_data holds sign-extended varints
  }
  return values;
}

// An AttributeProto of type INTS.
std::string IntsAttribute(std::string_view name, const std::vector<int64_t>& values) {
  std::string attr;
  onnx_wire::AppendBytesField(attr, kAttrName, name);
  for (int64_t v : values) onnx_wire::AppendVarintField(attr, kAttrInts, static_cast<uint64_t>(v));
  onnx_wire::AppendVarintField(attr, kAttrType, kAttrTypeInts);
  return attr;
}

std::string_view TensorName(std::string_view tensor) {
  auto fields = onnx_wire::ParseMessage(tensor);
  if (!fields.ok()) return {};
  for (const Field& f : *fields)
    if (f.number == kTensorName && f.wire_type == onnx_wire::kLengthDelimited) return f.bytes;
  return {};
}

// A graph input's or output's declared type: name, element type and one encoded Dimension per axis.
struct ValueInfo {
  std::string name;
  uint64_t elem_type = 0;
  bool has_shape = false;
  std::vector<std::string> dims;  // encoded TensorShapeProto.Dimension messages (value or symbol kept)
  std::vector<int64_t> values;    // dim_value, or -1 for a symbolic or unknown one
};

std::optional<ValueInfo> ParseValueInfo(std::string_view bytes) {
  ValueInfo info;
  auto fields = onnx_wire::ParseMessage(bytes);
  if (!fields.ok()) return std::nullopt;
  for (const Field& f : *fields) {
    if (f.wire_type != onnx_wire::kLengthDelimited) continue;
    if (f.number == kValueInfoName) info.name = std::string(f.bytes);
    if (f.number != kValueInfoType) continue;
    auto type = onnx_wire::ParseMessage(f.bytes);
    if (!type.ok()) return std::nullopt;
    for (const Field& t : *type) {
      if (t.number != kTypeTensor || t.wire_type != onnx_wire::kLengthDelimited) continue;
      auto tensor = onnx_wire::ParseMessage(t.bytes);
      if (!tensor.ok()) return std::nullopt;
      for (const Field& x : *tensor) {
        if (x.number == kTensorTypeElemType && x.wire_type == onnx_wire::kVarint) info.elem_type = x.varint;
        if (x.number != kTensorTypeShape || x.wire_type != onnx_wire::kLengthDelimited) continue;
        info.has_shape = true;
        auto shape = onnx_wire::ParseMessage(x.bytes);
        if (!shape.ok()) return std::nullopt;
        for (const Field& d : *shape) {
          if (d.number != kShapeDim || d.wire_type != onnx_wire::kLengthDelimited) continue;
          info.dims.emplace_back(d.bytes);
          int64_t value = -1;
          auto dim = onnx_wire::ParseMessage(d.bytes);
          if (!dim.ok()) return std::nullopt;
          for (const Field& v : *dim)
            if (v.number == kDimValue && v.wire_type == onnx_wire::kVarint)
              value = static_cast<int64_t>(v.varint);
          info.values.push_back(value);
        }
      }
    }
  }
  return info;
}

std::string DimOfValue(int64_t value) {
  std::string dim;
  onnx_wire::AppendVarintField(dim, kDimValue, static_cast<uint64_t>(value));
  return dim;
}

std::string SerializeValueInfo(const ValueInfo& info) {
  std::string shape;
  for (const auto& d : info.dims) onnx_wire::AppendBytesField(shape, kShapeDim, d);
  std::string tensor;
  onnx_wire::AppendVarintField(tensor, kTensorTypeElemType, info.elem_type);
  if (info.has_shape) onnx_wire::AppendBytesField(tensor, kTensorTypeShape, shape);
  std::string type;
  onnx_wire::AppendBytesField(type, kTypeTensor, tensor);
  std::string out;
  onnx_wire::AppendBytesField(out, kValueInfoName, info.name);
  onnx_wire::AppendBytesField(out, kValueInfoType, type);
  return out;
}

class Graph {
 public:
  Status Parse(std::string_view bytes) {
    ACCEL_ASSIGN_OR_RETURN(fields_, onnx_wire::ParseMessage(bytes));
    for (const Field& f : fields_) {
      if (f.wire_type != onnx_wire::kLengthDelimited) continue;
      if (f.number == kGraphNode) {
        ACCEL_ASSIGN_OR_RETURN(Node node, ParseNode(f.bytes));
        nodes_.push_back(std::move(node));
      } else if (f.number == kGraphInitializer) {
        initializers_.emplace(TensorName(f.bytes), f.bytes);
      } else if (f.number == kGraphInput || f.number == kGraphOutput) {
        auto info = ParseValueInfo(f.bytes);
        if (!info) return InvalidArgument("ONNX graph: unreadable input or output declaration");
        (f.number == kGraphInput ? inputs_ : outputs_).push_back(std::move(*info));
      }
    }
    Index();
    return Status::Ok();
  }

  std::string Serialize() const {
    std::string out;
    bool nodes_written = false;
    size_t input = 0, output = 0;
    for (const Field& f : fields_) {
      if (f.wire_type == onnx_wire::kLengthDelimited && f.number == kGraphNode) {
        if (nodes_written) continue;
        nodes_written = true;
        for (const Node& n : nodes_)
          if (!n.removed) onnx_wire::AppendBytesField(out, kGraphNode, SerializeNode(n));
      } else if (f.wire_type == onnx_wire::kLengthDelimited && f.number == kGraphInput) {
        const ValueInfo& info = inputs_[input++];
        changed_values_.count(info.name)
            ? onnx_wire::AppendBytesField(out, kGraphInput, SerializeValueInfo(info))
            : onnx_wire::AppendField(out, f);
      } else if (f.wire_type == onnx_wire::kLengthDelimited && f.number == kGraphOutput) {
        const ValueInfo& info = outputs_[output++];
        changed_values_.count(info.name)
            ? onnx_wire::AppendBytesField(out, kGraphOutput, SerializeValueInfo(info))
            : onnx_wire::AppendField(out, f);
      } else {
        onnx_wire::AppendField(out, f);
      }
    }
    return out;
  }

  bool CutFocus(FocusCut* cut);
  int FuseSilu(const std::string& op_type);
  std::vector<TransposedOutput> CutOutputTranspose();
  int CascadeMaxPools();

 private:
  // Rebuilds the producer and consumer tables after nodes changed.
  void Index() {
    producer_.clear();
    consumers_.clear();
    for (size_t i = 0; i < nodes_.size(); ++i) {
      if (nodes_[i].removed) continue;
      for (const auto& o : nodes_[i].outputs) producer_[o] = i;
      for (const auto& in : nodes_[i].inputs) consumers_[in].push_back(i);
    }
  }

  Node* Producer(const std::string& value) {
    auto it = producer_.find(value);
    return it == producer_.end() ? nullptr : &nodes_[it->second];
  }
  const std::vector<size_t>& Consumers(const std::string& value) const {
    static const std::vector<size_t> kNone;
    auto it = consumers_.find(value);
    return it == consumers_.end() ? kNone : it->second;
  }
  bool IsGraphOutput(const std::string& value) const {
    return std::any_of(outputs_.begin(), outputs_.end(), [&](const ValueInfo& o) { return o.name == value; });
  }
  size_t IndexOf(const Node* node) const { return static_cast<size_t>(node - nodes_.data()); }

  // Integer constants from an initializer or a Constant node.
  std::optional<std::vector<int64_t>> ConstInts(const std::string& value) {
    if (auto it = initializers_.find(value); it != initializers_.end()) return TensorInts(it->second);
    const Node* p = Producer(value);
    if (p == nullptr || p->op_type != "Constant") return std::nullopt;
    for (const Field& f : p->other) {
      if (f.number != kNodeAttribute || f.wire_type != onnx_wire::kLengthDelimited) continue;
      auto attr = onnx_wire::ParseMessage(f.bytes);
      if (!attr.ok()) return std::nullopt;
      for (const Field& a : *attr)
        if (a.number == kAttrTensor && a.wire_type == onnx_wire::kLengthDelimited) return TensorInts(a.bytes);
    }
    return std::nullopt;
  }

  // An integer or integer-list attribute of a node.
  static std::optional<std::vector<int64_t>> AttrInts(const Node& node, std::string_view name) {
    for (const Field& f : node.other) {
      if (f.number != kNodeAttribute || f.wire_type != onnx_wire::kLengthDelimited) continue;
      auto attr = onnx_wire::ParseMessage(f.bytes);
      if (!attr.ok()) return std::nullopt;
      bool named = false;
      std::vector<int64_t> values;
      for (const Field& a : *attr) {
        if (a.number == kAttrName && a.wire_type == onnx_wire::kLengthDelimited) named = a.bytes == name;
        if ((a.number == kAttrInt || a.number == kAttrInts) && !onnx_wire::AppendVarints(a, values))
          return std::nullopt;
      }
      if (named) return values;
    }
    return std::nullopt;
  }

  std::vector<Field> fields_;
  std::vector<Node> nodes_;
  std::map<std::string, std::string_view, std::less<>> initializers_;
  std::vector<ValueInfo> inputs_, outputs_;
  std::set<std::string> changed_values_;  // graph inputs/outputs whose declaration was rewritten
  std::map<std::string, size_t> producer_;
  std::map<std::string, std::vector<size_t>> consumers_;
};

// One Slice of the Focus: a single axis (2 or 3 of a 4-D tensor), step 2, start 0 or 1, to the end.
struct StridedSlice {
  int axis = -1;
  int start = 0;
};

bool Graph::CutFocus(FocusCut* cut) {
  for (ValueInfo& input : inputs_) {
    if (initializers_.count(input.name) || input.values.size() != 4) continue;
    const int64_t channels = input.values[1], height = input.values[2], width = input.values[3];
    if (channels <= 0 || height <= 0 || width <= 0 || height % 2 || width % 2) continue;
    auto strided = [&](const Node* n) -> std::optional<StridedSlice> {
      if (n == nullptr || n->removed || n->op_type != "Slice" || n->inputs.size() != 5 ||
          n->outputs.size() != 1)
        return std::nullopt;
      auto starts = ConstInts(n->inputs[1]), ends = ConstInts(n->inputs[2]);
      auto axes = ConstInts(n->inputs[3]), steps = ConstInts(n->inputs[4]);
      if (!starts || !ends || !axes || !steps || starts->size() != 1 || ends->size() != 1 ||
          axes->size() != 1 || steps->size() != 1)
        return std::nullopt;
      const int64_t axis = (*axes)[0] < 0 ? (*axes)[0] + 4 : (*axes)[0];
      if (axis != 2 && axis != 3) return std::nullopt;
      if ((*steps)[0] != 2 || ((*starts)[0] != 0 && (*starts)[0] != 1)) return std::nullopt;
      if ((*ends)[0] < (axis == 2 ? height : width)) return std::nullopt;
      return StridedSlice{static_cast<int>(axis), static_cast<int>((*starts)[0])};
    };
    for (Node& concat : nodes_) {
      if (concat.removed || concat.op_type != "Concat" || concat.inputs.size() != 4 ||
          concat.outputs.size() != 1)
        continue;
      auto axis = AttrInts(concat, "axis");
      if (!axis || axis->size() != 1 || ((*axis)[0] != 1 && (*axis)[0] != -3)) continue;
      std::set<size_t> pattern{IndexOf(&concat)};
      std::array<int, 4> rows{}, cols{};
      bool match = true;
      for (int k = 0; k < 4 && match; ++k) {
        Node* second = Producer(concat.inputs[k]);
        Node* first = second && !second->inputs.empty() ? Producer(second->inputs[0]) : nullptr;
        auto s2 = strided(second), s1 = strided(first);
        if (!s1 || !s2 || first->inputs[0] != input.name || s1->axis == s2->axis) {
          match = false;
          break;
        }
        rows[k] = s1->axis == 2 ? s1->start : s2->start;
        cols[k] = s1->axis == 3 ? s1->start : s2->start;
        pattern.insert(IndexOf(first));
        pattern.insert(IndexOf(second));
      }
      if (!match) continue;
      std::set<int> phases;
      for (int k = 0; k < 4; ++k) phases.insert(rows[k] * 2 + cols[k]);
      if (phases.size() != 4) continue;
      // The slices must serve only the Focus: nothing else may read the full-resolution input or the
      // intermediate tensors, and none of them may be a graph output.
      auto only_pattern = [&](const std::string& value) {
        if (IsGraphOutput(value)) return false;
        const auto& users = Consumers(value);
        return std::all_of(users.begin(), users.end(), [&](size_t u) { return pattern.count(u) > 0; });
      };
      if (!only_pattern(input.name)) continue;
      bool private_values = true;
      for (size_t i : pattern)
        if (i != IndexOf(&concat)) private_values = private_values && only_pattern(nodes_[i].outputs[0]);
      if (!private_values || IsGraphOutput(concat.outputs[0])) continue;

      const std::string focused = concat.outputs[0];
      for (size_t i : pattern) nodes_[i].removed = true;
      for (Node& n : nodes_)
        for (auto& in : n.inputs)
          if (in == focused) in = input.name;
      input.dims = {input.dims[0], DimOfValue(channels * 4), DimOfValue(height / 2), DimOfValue(width / 2)};
      input.values = {input.values[0], channels * 4, height / 2, width / 2};
      changed_values_.insert(input.name);
      cut->active = true;
      cut->input = input.name;
      cut->row_phase = rows;
      cut->col_phase = cols;
      Index();
      return true;
    }
  }
  return false;
}

int Graph::FuseSilu(const std::string& op_type) {
  int fused = 0;
  for (Node& sigmoid : nodes_) {
    if (sigmoid.removed || sigmoid.op_type != "Sigmoid" || sigmoid.inputs.size() != 1 ||
        sigmoid.outputs.size() != 1)
      continue;
    const std::string& x = sigmoid.inputs[0];
    const std::string& s = sigmoid.outputs[0];
    const auto& users = Consumers(s);
    if (users.size() != 1 || IsGraphOutput(s) || x == s) continue;
    Node& mul = nodes_[users[0]];
    if (mul.op_type != "Mul" || mul.inputs.size() != 2 || mul.outputs.size() != 1) continue;
    const bool pair =
        (mul.inputs[0] == x && mul.inputs[1] == s) || (mul.inputs[0] == s && mul.inputs[1] == x);
    if (!pair) continue;
    // The Mul's place in the node order is after both x and the Sigmoid, so the activation can take it.
    mul.op_type = op_type;
    mul.inputs = {x};
    sigmoid.removed = true;
    ++fused;
  }
  if (fused > 0) Index();
  return fused;
}

std::vector<TransposedOutput> Graph::CutOutputTranspose() {
  std::vector<TransposedOutput> cut;
  for (ValueInfo& output : outputs_) {
    Node* transpose = Producer(output.name);
    if (transpose == nullptr || transpose->op_type != "Transpose" || transpose->inputs.size() != 1 ||
        transpose->outputs.size() != 1)
      continue;
    auto perm = AttrInts(*transpose, "perm");
    if (!perm || *perm != std::vector<int64_t>{0, 2, 1}) continue;
    const std::string inner = transpose->inputs[0];
    Node* producer = Producer(inner);
    if (producer == nullptr || Consumers(inner).size() != 1 || IsGraphOutput(inner)) continue;
    for (auto& o : producer->outputs)
      if (o == inner) o = output.name;
    transpose->removed = true;
    if (output.dims.size() == 3) {
      std::swap(output.dims[1], output.dims[2]);
      std::swap(output.values[1], output.values[2]);
      changed_values_.insert(output.name);
    }
    cut.push_back({output.name});
    Index();
  }
  return cut;
}

int Graph::CascadeMaxPools() {
  // A MaxPool this rewrite understands: 2-D, square odd kernel k, stride 1, padding k/2 on every side, no
  // dilation, ceil_mode 0, one output (no indices).
  auto same_pool_kernel = [&](const Node& n) -> int64_t {
    if (n.removed || n.op_type != "MaxPool" || n.inputs.size() != 1 || n.outputs.size() != 1) return 0;
    auto kernel = AttrInts(n, "kernel_shape");
    auto strides = AttrInts(n, "strides");
    auto pads = AttrInts(n, "pads");
    auto dilations = AttrInts(n, "dilations");
    auto ceil_mode = AttrInts(n, "ceil_mode");
    auto auto_pad = AttrInts(n, "auto_pad");  // a string attribute: present means not the default
    if (!kernel || kernel->size() != 2 || (*kernel)[0] != (*kernel)[1] || (*kernel)[0] % 2 == 0) return 0;
    const int64_t k = (*kernel)[0];
    if (strides && *strides != std::vector<int64_t>{1, 1}) return 0;
    if (!pads || *pads != std::vector<int64_t>(4, k / 2)) return 0;
    if (dilations && *dilations != std::vector<int64_t>{1, 1}) return 0;
    if (ceil_mode && *ceil_mode != std::vector<int64_t>{0}) return 0;
    if (auto_pad) return 0;
    return k;
  };
  int cascaded = 0;
  std::map<std::string, std::vector<size_t>> pools_by_input;  // in node order
  for (size_t i = 0; i < nodes_.size(); ++i)
    if (same_pool_kernel(nodes_[i]) > 0) pools_by_input[nodes_[i].inputs[0]].push_back(i);
  for (const auto& [input, pools] : pools_by_input) {
    if (pools.size() < 2) continue;
    const int64_t k = same_pool_kernel(nodes_[pools[0]]);
    // Kernels k, 2k-1, 3k-2, ... in node order, so each link's input is computed before it.
    bool chain = true;
    for (size_t j = 0; j < pools.size(); ++j)
      chain = chain && same_pool_kernel(nodes_[pools[j]]) == k + static_cast<int64_t>(j) * (k - 1);
    if (!chain) continue;
    for (size_t j = 1; j < pools.size(); ++j) {
      Node& pool = nodes_[pools[j]];
      pool.inputs[0] = nodes_[pools[j - 1]].outputs[0];
      std::vector<Field> kept;
      for (const Field& f : pool.other) {
        bool replaced = false;
        if (f.number == kNodeAttribute && f.wire_type == onnx_wire::kLengthDelimited) {
          auto attr = onnx_wire::ParseMessage(f.bytes);
          if (attr.ok())
            for (const Field& a : *attr)
              if (a.number == kAttrName && (a.bytes == "kernel_shape" || a.bytes == "pads")) replaced = true;
        }
        if (!replaced) kept.push_back(f);
      }
      pool.other = std::move(kept);
      pool.new_attributes.push_back(IntsAttribute("kernel_shape", {k, k}));
      pool.new_attributes.push_back(IntsAttribute("pads", std::vector<int64_t>(4, k / 2)));
      ++cascaded;
    }
  }
  if (cascaded > 0) Index();
  return cascaded;
}

}  // namespace

std::string OnnxRewrite::Summary() const {
  std::string s;
  auto add = [&s](const std::string& part) { s += (s.empty() ? "" : ", ") + part; };
  if (focus.active) add("focus cut (space-to-depth in the engine)");
  if (silu_fused > 0) add(std::to_string(silu_fused) + " SiLU fused (" + silu_op_type + ")");
  if (!transposed_outputs.empty()) add("output transpose cut");
  if (max_pools_cascaded > 0) add(std::to_string(max_pools_cascaded) + " MaxPools cascaded");
  return s.empty() ? "none" : s;
}

StatusOr<OnnxRewrite> RewriteOnnxForOpenCv(std::string_view model, const OnnxRewriteOptions& options) {
  ACCEL_ASSIGN_OR_RETURN(std::vector<Field> fields, onnx_wire::ParseMessage(model));
  OnnxRewrite result;
  std::string graph_bytes;
  bool have_graph = false;
  for (const Field& f : fields) {
    if (f.number != kModelGraph || f.wire_type != onnx_wire::kLengthDelimited) continue;
    if (have_graph) return InvalidArgument("ONNX model has two graphs");
    have_graph = true;
    Graph graph;
    ACCEL_RETURN_IF_ERROR(graph.Parse(f.bytes));
    if (options.cut_focus) graph.CutFocus(&result.focus);
    if (options.fuse_silu) result.silu_fused = graph.FuseSilu(options.silu_op_type);
    if (result.silu_fused > 0) result.silu_op_type = options.silu_op_type;
    if (options.cut_output_transpose) result.transposed_outputs = graph.CutOutputTranspose();
    if (options.cascade_max_pools) result.max_pools_cascaded = graph.CascadeMaxPools();
    graph_bytes = graph.Serialize();
  }
  if (!have_graph) return InvalidArgument("not an ONNX model (no graph)");
  if (!result.changed()) {
    result.model = std::string(model);
    return result;
  }
  for (const Field& f : fields) {
    if (f.number == kModelGraph && f.wire_type == onnx_wire::kLengthDelimited)
      onnx_wire::AppendBytesField(result.model, kModelGraph, graph_bytes);
    else
      onnx_wire::AppendField(result.model, f);
  }
  return result;
}

}  // namespace accel
