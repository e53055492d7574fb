#include "engines/cpu/xnnpack_net.h"

#include <pthreadpool.h>
#include <xnnpack.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <iterator>
#include <limits>
#include <map>
#include <mutex>

#include "engines/cpu/onnx_graph_rewrite.h"
#include "engines/cpu/onnx_model.h"
#include "engines/cpu/xnnpack_kernels.h"

namespace accel {
namespace {

namespace k = xnnpack_kernels;

// The op type the SiLU fusion gives x * Sigmoid(x) in the graph this runtime reads (a name no ONNX
// domain uses).
constexpr char kFusedSilu[] = "AccelFusedSilu";

// Bounds on what a graph may declare, so that no size computation overflows: a dimension, an attribute
// (pads, strides, ...) and a tensor's elements.
constexpr int64_t kMaxDim = 1 << 20;
constexpr size_t kMaxElements = size_t{1} << 31;

// Timed runs with and without the pool when a net chooses its thread count at load (after one untimed
// run each); the medians count.
constexpr int kThreadTimingRuns = 5;

Status XnnInitialize() {
  static std::once_flag once;
  static xnn_status status = xnn_status_success;
  std::call_once(once, [] { status = xnn_initialize(nullptr); });
  if (status != xnn_status_success)
    return FailedPrecondition("XNNPACK does not initialise on this CPU (status " +
                              std::to_string(static_cast<int>(status)) + ")");
  return Status::Ok();
}

// How a value's logical (ONNX) shape maps to its storage, always a matrix of pixels x channels:
//   kNhwc:      [1, C, H, W] stored as H*W pixels of C channels;
//   kChannels3: [1, C, L] (a reshaped NHWC tensor) stored as L pixels of C channels;
//   kRows3:     [1, L, C] stored as L pixels of C channels (row-major: what the model's output wants).
enum class Layout { kNhwc, kChannels3, kRows3 };

struct Value {
  std::string name;
  std::vector<int64_t> shape;
  Layout layout = Layout::kNhwc;
  size_t pixels = 0, channels = 0;
  // Storage: a root (parent < 0) owns a contiguous pixels x channels buffer; any other value lives in its
  // parent's storage at `offset` floats with the parent's pixel stride. A view (Reshape, Transpose, an
  // in-place SiLU) has offset 0; a slice of a concat has the offset of its slot.
  int parent = -1;
  size_t offset = 0;
  bool is_slice = false;      // placed into a concat's buffer
  bool writable = false;      // produced by an operator (not the graph input)
  bool hosts_slices = false;  // a concat's output: other values may live in its storage
  bool graph_output = false;
  // Resolved after placement.
  float* data = nullptr;
  size_t stride = 0;
};

struct OperatorDeleter {
  void operator()(xnn_operator_t op) const { xnn_delete_operator(op); }
};
using Operator = std::unique_ptr<xnn_operator, OperatorDeleter>;

struct PoolDeleter {
  void operator()(pthreadpool_t pool) const { pthreadpool_destroy(pool); }
};

struct AlignedDeleter {
  void operator()(float* p) const { std::free(p); }
};

// A 2-D window (convolution or pooling; 2-element kernel, strides and dilations, 4 pads) over an input of
// in_h x in_w: checks the strides, dilations and pads and gives the output's height and width. Returns
// why it cannot run (for the refusal message), or null.
const char* WindowOutput(const std::vector<int64_t>& kernel, const std::vector<int64_t>& strides,
                         const std::vector<int64_t>& dil, const std::vector<int64_t>& pads, int64_t in_h,
                         int64_t in_w, int64_t* out_h, int64_t* out_w) {
  for (int64_t v : strides)
    if (v < 1 || v > kMaxDim) return "bad strides";
  for (int64_t v : dil)
    if (v < 1 || v > kMaxDim) return "bad dilations";
  for (int64_t v : pads)
    if (v < 0 || v > kMaxDim) return "bad pads";
  const int64_t h = in_h + pads[0] + pads[2] - dil[0] * (kernel[0] - 1) - 1;
  const int64_t w = in_w + pads[1] + pads[3] - dil[1] * (kernel[1] - 1) - 1;
  if (h < 0 || w < 0) return "the kernel is larger than the padded input";
  *out_h = h / strides[0] + 1;
  *out_w = w / strides[1] + 1;
  return nullptr;
}

}  // namespace

struct XnnpackNet::Impl {
  std::unique_ptr<pthreadpool, PoolDeleter> pool;
  std::vector<Value> values;
  std::vector<std::unique_ptr<float, AlignedDeleter>> buffers;
  size_t buffer_bytes = 0;  // all of them: every tensor has its own storage (no reuse across lifetimes)
  std::vector<Operator> operators;
  std::vector<std::function<void(pthreadpool_t)>> steps;  // in graph order; the pool or null
  bool use_pool = false;  // run the steps on the pool (else on the caller's thread)
  std::string threads_note;
  FocusCut focus;
  std::vector<int64_t> input_shape;  // the declared NCHW input [1, C, H, W] (before the focus cut)
  int input_value = -1;
  std::vector<int> outputs;
  int slices = 0, copies = 0, in_place = 0;
  std::string rewrite_summary;
};

namespace {

class Builder {
 public:
  Builder(XnnpackNet::Impl& net, const OnnxGraph& graph) : net_(net), graph_(graph) {}

  Status Build();

 private:
  Status Fail(size_t node, const std::string& why) const {
    return FailedPrecondition("xnnpack runtime: " + graph_.nodes[node].Describe(graph_.node_index[node]) +
                              ": " + why);
  }
  int Find(const std::string& name) const {
    auto it = ids_.find(name);
    return it == ids_.end() ? -1 : it->second;
  }
  int Add(Value v) {
    net_.values.push_back(std::move(v));
    const int id = static_cast<int>(net_.values.size()) - 1;
    ids_[net_.values.back().name] = id;
    return id;
  }
  int Root(int v) const {
    while (net_.values[v].parent >= 0) v = net_.values[v].parent;
    return v;
  }
  const OnnxTensor* Initializer(const std::string& name) const {
    auto it = graph_.initializers.find(name);
    return it == graph_.initializers.end() ? nullptr : &it->second;
  }
  static std::vector<int64_t> Ints(const OnnxNode& n, const char* name, std::vector<int64_t> fallback) {
    const OnnxAttribute* a = n.Attr(name);
    return a ? a->ints : fallback;
  }

  // Shape checks and placement, node by node; the operators are made once every buffer is placed.
  Status Plan(size_t i);
  Status MakeSteps(size_t i);
  void Resolve();

  Value Like(const Value& in, const std::string& name) const {
    Value out;
    out.name = name;
    out.shape = in.shape;
    out.layout = in.layout;
    out.pixels = in.pixels;
    out.channels = in.channels;
    out.writable = true;
    return out;
  }

  XnnpackNet::Impl& net_;
  const OnnxGraph& graph_;
  std::map<std::string, int> ids_;
  std::map<std::string, int> readers_;
  std::vector<std::vector<int>> node_inputs_, node_outputs_;
};

Status Builder::Build() {
  if (graph_.inputs.size() != 1)
    return FailedPrecondition("xnnpack runtime: the graph has " + std::to_string(graph_.inputs.size()) +
                              " inputs (one is supported)");
  const OnnxValueInfo& in = graph_.inputs[0];
  if (in.elem_type != kOnnxFloat || in.dims.size() != 4)
    return FailedPrecondition("xnnpack runtime: the graph input '" + in.name + "' is not a 4-D float tensor");
  if (in.dims[0] > 1)
    return FailedPrecondition("xnnpack runtime: the graph input '" + in.name + "' has a batch of " +
                              std::to_string(in.dims[0]) + " (1 is supported)");
  for (int d = 1; d < 4; ++d)
    if (in.dims[d] <= 0 || in.dims[d] > kMaxDim)
      return FailedPrecondition("xnnpack runtime: the graph input '" + in.name + "' has no fixed shape");
  Value input;
  input.name = in.name;
  input.shape = {1, in.dims[1], in.dims[2], in.dims[3]};
  input.pixels = static_cast<size_t>(in.dims[2] * in.dims[3]);
  input.channels = static_cast<size_t>(in.dims[1]);
  net_.input_value = Add(std::move(input));

  // Readers of each value over the whole graph (graph outputs count as one), for the in-place rule.
  for (const auto& node : graph_.nodes)
    for (const auto& name : node.inputs) ++readers_[name];
  for (const auto& out : graph_.outputs) ++readers_[out.name];
  node_inputs_.resize(graph_.nodes.size());
  node_outputs_.resize(graph_.nodes.size());
  for (size_t i = 0; i < graph_.nodes.size(); ++i) ACCEL_RETURN_IF_ERROR(Plan(i));
  for (const auto& out : graph_.outputs) {
    const int v = Find(out.name);
    if (v < 0)
      return FailedPrecondition("xnnpack runtime: the graph output '" + out.name +
                                "' is a constant or the input (not supported)");
    net_.values[v].graph_output = true;
    net_.outputs.push_back(v);
  }
  Resolve();
  for (size_t i = 0; i < graph_.nodes.size(); ++i) ACCEL_RETURN_IF_ERROR(MakeSteps(i));
  // Between operators the pool's workers spin, waiting for the next one (what makes 200-odd short steps
  // fast); after the last one they are put to sleep, so that an idle network does not keep spinning on
  // cores that other work (another runtime, the decoder, other processes) needs.
  if (pthreadpool_t pool = net_.pool.get()) {
    const size_t threads = pthreadpool_get_threads_count(pool);
    net_.steps.push_back([threads](pthreadpool_t pool) {
      pthreadpool_parallelize_1d(
          pool, [](size_t) {}, threads, PTHREADPOOL_FLAG_YIELD_WORKERS);
    });
  }
  return Status::Ok();
}

Status Builder::Plan(size_t i) {
  const OnnxNode& n = graph_.nodes[i];
  if (!n.domain.empty() && n.domain != "ai.onnx")
    return Fail(i, "domain '" + n.domain + "' is not supported");
  // Every data input must be a value computed before (ONNX requires the order to be topological).
  std::vector<int>& ins = node_inputs_[i];
  for (const auto& name : n.inputs) {
    const int v = name.empty() ? -1 : Find(name);
    if (v < 0 && !name.empty() && !Initializer(name))
      return Fail(i, "input '" + name + "' is not computed before");
    ins.push_back(v);
  }
  if (n.outputs.size() != 1)
    return Fail(i, "has " + std::to_string(n.outputs.size()) + " outputs (1 supported)");
  auto data_input = [&](size_t k) -> const Value* {
    return k < ins.size() && ins[k] >= 0 ? &net_.values[ins[k]] : nullptr;
  };
  const std::string& out_name = n.outputs[0];
  if (Find(out_name) >= 0) return Fail(i, "output '" + out_name + "' is produced twice");
  const Value* x = data_input(0);
  if (x == nullptr) return Fail(i, "its first input is a constant (not supported)");

  if (n.op_type == "Conv") {
    if (x->layout != Layout::kNhwc) return Fail(i, "input is not 4-D");
    const OnnxTensor* w = n.inputs.size() > 1 ? Initializer(n.inputs[1]) : nullptr;
    if (w == nullptr || w->data_type != kOnnxFloat || w->dims.size() != 4)
      return Fail(i, "weights are not a constant 4-D float tensor");
    for (int64_t d : w->dims)
      if (d < 1 || d > kMaxDim) return Fail(i, "weights of an empty or absurd shape");
    if (n.inputs.size() > 2 && !n.inputs[2].empty()) {
      const OnnxTensor* b = Initializer(n.inputs[2]);
      if (b == nullptr || b->data_type != kOnnxFloat || b->num_elements() != w->dims[0])
        return Fail(i, "bias is not a constant float tensor of the output channels");
    }
    if (n.Attr("auto_pad") && n.Attr("auto_pad")->s != "NOTSET") return Fail(i, "auto_pad is not supported");
    const int64_t group = n.Attr("group") ? n.Attr("group")->i : 1;
    const auto kernel = Ints(n, "kernel_shape", {w->dims[2], w->dims[3]});
    const auto strides = Ints(n, "strides", {1, 1});
    const auto dil = Ints(n, "dilations", {1, 1});
    const auto pads = Ints(n, "pads", {0, 0, 0, 0});
    if (kernel.size() != 2 || strides.size() != 2 || dil.size() != 2 || pads.size() != 4)
      return Fail(i, "only 2-D convolutions are supported");
    if (kernel[0] != w->dims[2] || kernel[1] != w->dims[3])
      return Fail(i, "kernel_shape differs from the weights");
    if (group < 1 || static_cast<int64_t>(x->channels) != w->dims[1] * group || w->dims[0] % group)
      return Fail(i, "channels and group do not match the weights");
    int64_t out_h = 0, out_w = 0;
    if (const char* bad = WindowOutput(kernel, strides, dil, pads, x->shape[2], x->shape[3], &out_h, &out_w))
      return Fail(i, bad);
    Value out = Like(*x, out_name);
    out.shape = {1, w->dims[0], out_h, out_w};
    out.channels = static_cast<size_t>(w->dims[0]);
    out.pixels = static_cast<size_t>(out.shape[2] * out.shape[3]);
    node_outputs_[i] = {Add(std::move(out))};
  } else if (n.op_type == kFusedSilu || n.op_type == "Sigmoid") {
    if (ins.size() != 1) return Fail(i, "expects one input");
    Value out = Like(*x, out_name);
    const int in_id = ins[0];
    // In place where the input is an operator's own buffer that nothing else reads.
    // A concat's buffer holds its inputs' storage, which later nodes may still read: never in place there.
    if (n.op_type == kFusedSilu && x->parent < 0 && x->writable && readers_[x->name] == 1 && !x->is_slice &&
        !x->hosts_slices) {
      out.parent = in_id;
      ++net_.in_place;
    }
    node_outputs_[i] = {Add(std::move(out))};
  } else if (n.op_type == "Add" || n.op_type == "Mul") {
    const Value* y = data_input(1);
    if (ins.size() != 2 || y == nullptr) return Fail(i, "a constant operand is not supported");
    if (x->shape != y->shape || x->layout != y->layout)
      return Fail(i, "operands of different shapes (broadcasting is not supported)");
    node_outputs_[i] = {Add(Like(*x, out_name))};
  } else if (n.op_type == "MaxPool") {
    if (x->layout != Layout::kNhwc) return Fail(i, "input is not 4-D");
    if (n.Attr("auto_pad") && n.Attr("auto_pad")->s != "NOTSET") return Fail(i, "auto_pad is not supported");
    if (n.Attr("ceil_mode") && n.Attr("ceil_mode")->i != 0) return Fail(i, "ceil_mode 1 is not supported");
    if (n.Attr("storage_order") && n.Attr("storage_order")->i != 0)
      return Fail(i, "storage_order is not supported");
    const auto kernel = Ints(n, "kernel_shape", {});
    const auto strides = Ints(n, "strides", {1, 1});
    const auto dil = Ints(n, "dilations", {1, 1});
    const auto pads = Ints(n, "pads", {0, 0, 0, 0});
    if (kernel.size() != 2 || strides.size() != 2 || dil.size() != 2 || pads.size() != 4)
      return Fail(i, "only 2-D pooling is supported");
    for (int64_t v : kernel)
      if (v < 1 || v > kMaxDim) return Fail(i, "bad kernel_shape");
    if (kernel[0] * kernel[1] < 2) return Fail(i, "a 1x1 pool is not supported");
    int64_t out_h = 0, out_w = 0;
    if (const char* bad = WindowOutput(kernel, strides, dil, pads, x->shape[2], x->shape[3], &out_h, &out_w))
      return Fail(i, bad);
    Value out = Like(*x, out_name);
    out.shape = {1, x->shape[1], out_h, out_w};
    out.pixels = static_cast<size_t>(out.shape[2] * out.shape[3]);
    node_outputs_[i] = {Add(std::move(out))};
  } else if (n.op_type == "Resize" || n.op_type == "Upsample") {
    if (x->layout != Layout::kNhwc) return Fail(i, "input is not 4-D");
    const OnnxAttribute* mode = n.Attr("mode");
    if (!mode || mode->s != "nearest") return Fail(i, "only mode 'nearest' is supported");
    const OnnxAttribute* coord = n.Attr("coordinate_transformation_mode");
    const OnnxAttribute* rounding = n.Attr("nearest_mode");
    if (n.op_type == "Resize" && (!coord || coord->s != "asymmetric" || !rounding || rounding->s != "floor"))
      return Fail(i,
                  "only coordinate_transformation_mode 'asymmetric' with nearest_mode 'floor' is supported");
    // Scales (Resize input 2, Upsample input 1) or sizes (Resize input 3), constant.
    std::vector<int64_t> out_shape;
    const size_t scales_at = n.op_type == "Resize" ? 2 : 1;
    const OnnxTensor* scales = scales_at < n.inputs.size() ? Initializer(n.inputs[scales_at]) : nullptr;
    const OnnxTensor* sizes =
        n.op_type == "Resize" && n.inputs.size() > 3 ? Initializer(n.inputs[3]) : nullptr;
    if (scales && scales->data_type == kOnnxFloat && scales->floats.size() == 4) {
      for (int d = 0; d < 4; ++d) {
        const float s = scales->floats[d];
        if (!(s >= 1 && s <= kMaxDim) || s != std::floor(s))
          return Fail(i, "only integer scales >= 1 are supported");
        out_shape.push_back(x->shape[d] * static_cast<int64_t>(s));
      }
    } else if (sizes && !sizes->ints.empty()) {
      out_shape = sizes->ints;
    } else {
      return Fail(i, "scales or sizes must be a constant of 4 values");
    }
    if (out_shape.size() != 4 || out_shape[0] != 1 || out_shape[1] != x->shape[1] ||
        out_shape[2] < x->shape[2] || out_shape[3] < x->shape[3] || out_shape[2] > kMaxDim ||
        out_shape[3] > kMaxDim || out_shape[2] % x->shape[2] || out_shape[3] % x->shape[3])
      return Fail(i, "only integer upsampling of height and width is supported");
    Value out = Like(*x, out_name);
    out.shape = out_shape;
    out.pixels = static_cast<size_t>(out_shape[2] * out_shape[3]);
    node_outputs_[i] = {Add(std::move(out))};
  } else if (n.op_type == "Concat") {
    const OnnxAttribute* axis_attr = n.Attr("axis");
    if (!axis_attr) return Fail(i, "no axis");
    const int64_t rank = static_cast<int64_t>(x->shape.size());
    const int64_t axis = axis_attr->i < 0 ? axis_attr->i + rank : axis_attr->i;
    // Along channels (axis 1 of NHWC or of [1, C, L]; axis 2 of [1, L, C]) or along pixels (axis 2 of
    // [1, C, L]; axis 1 of [1, L, C]).
    const bool along_channels = (x->layout == Layout::kRows3) ? axis == 2 : axis == 1;
    const bool along_pixels = x->layout != Layout::kNhwc && !along_channels && (axis == 1 || axis == 2);
    if (!along_channels && !along_pixels)
      return Fail(i, "only concatenation along channels or the last axis");
    Value out = Like(*x, out_name);
    out.channels = out.pixels = 0;
    for (size_t k = 0; k < ins.size(); ++k) {
      const Value* v = data_input(k);
      if (v == nullptr) return Fail(i, "a constant input is not supported");
      if (v->layout != x->layout || v->shape.size() != x->shape.size())
        return Fail(i, "inputs of different layouts");
      for (int64_t d = 0; d < rank; ++d)
        if (d != axis && v->shape[d] != x->shape[d]) return Fail(i, "inputs differ off the concat axis");
      out.channels = along_channels ? out.channels + v->channels : v->channels;
      out.pixels = along_channels ? v->pixels : out.pixels + v->pixels;
    }
    out.shape[axis] = 0;
    for (size_t k = 0; k < ins.size(); ++k) out.shape[axis] += net_.values[ins[k]].shape[axis];
    out.hosts_slices = true;
    const int out_id = Add(std::move(out));
    node_outputs_[i] = {out_id};
    // Each input whose storage can move there is written straight into its slot.
    size_t offset = 0;
    for (size_t k = 0; k < ins.size(); ++k) {
      Value& v = net_.values[ins[k]];
      const size_t slot = offset;
      offset += along_channels ? v.channels : v.pixels * net_.values[out_id].channels;
      const bool repeated = std::count(ins.begin(), ins.end(), ins[k]) > 1;
      // Walk up through views only: a value already in a concat slot stays where it is.
      int r = ins[k];
      bool views_only = true;
      while (net_.values[r].parent >= 0) {
        views_only = views_only && !net_.values[r].is_slice;
        r = net_.values[r].parent;
      }
      Value& root = net_.values[r];
      if (repeated || !views_only || !root.writable || root.is_slice) continue;
      root.parent = out_id;
      root.offset = slot;
      root.is_slice = true;
      ++net_.slices;
    }
  } else if (n.op_type == "Reshape") {
    const OnnxTensor* shape = n.inputs.size() > 1 ? Initializer(n.inputs[1]) : nullptr;
    if (!shape || shape->ints.empty()) return Fail(i, "the target shape must be constant");
    std::vector<int64_t> target = shape->ints;
    int64_t known = 1, infer = -1;
    for (size_t d = 0; d < target.size(); ++d) {
      if (target[d] < -1 || target[d] > kMaxDim) return Fail(i, "bad target shape");
      if (target[d] == 0 && d < x->shape.size()) target[d] = x->shape[d];
      if (target[d] == -1)
        infer = static_cast<int64_t>(d);
      else
        known *= target[d];
    }
    int64_t total = 1;
    for (int64_t d : x->shape) total *= d;
    if (infer >= 0 && known > 0) target[infer] = total / known;
    Value out = Like(*x, out_name);
    if (target == x->shape) {
      // no change
    } else if (x->layout == Layout::kNhwc && target.size() == 3 && target[0] == 1 &&
               target[1] == x->shape[1] && target[2] == x->shape[2] * x->shape[3]) {
      out.shape = target;
      out.layout = Layout::kChannels3;
    } else {
      return Fail(i, "only [1, C, H, W] -> [1, C, H*W] is supported");
    }
    out.parent = ins[0];
    node_outputs_[i] = {Add(std::move(out))};
  } else if (n.op_type == "Transpose") {
    const auto perm = Ints(n, "perm", {});
    if (x->layout == Layout::kNhwc || perm != std::vector<int64_t>{0, 2, 1})
      return Fail(i, "only perm [0, 2, 1] of a 3-D tensor is supported");
    Value out = Like(*x, out_name);
    out.shape = {x->shape[0], x->shape[2], x->shape[1]};
    out.layout = x->layout == Layout::kChannels3 ? Layout::kRows3 : Layout::kChannels3;
    out.parent = ins[0];
    node_outputs_[i] = {Add(std::move(out))};
  } else {
    return Fail(i, "op type not supported by the xnnpack runtime");
  }
  const Value& out = net_.values[node_outputs_[i][0]];
  if (out.pixels == 0 || out.channels == 0 || out.pixels > kMaxElements / out.channels)
    return Fail(i, "output of an empty or absurd size");
  return Status::Ok();
}

void Builder::Resolve() {
  // Roots own buffers; every other value's address and stride follow from its root's.
  std::vector<float*> base(net_.values.size(), nullptr);
  for (size_t v = 0; v < net_.values.size(); ++v) {
    Value& value = net_.values[v];
    if (value.parent >= 0) continue;
    const size_t floats = value.pixels * value.channels + XNN_EXTRA_BYTES / sizeof(float) + 16;
    void* p = nullptr;
    if (posix_memalign(&p, 64, floats * sizeof(float)) != 0) p = nullptr;
    auto* data = static_cast<float*>(p);
    if (data) std::memset(data, 0, floats * sizeof(float));
    net_.buffers.emplace_back(data);
    net_.buffer_bytes += floats * sizeof(float);
    value.data = data;
    value.stride = value.channels;
  }
  std::function<void(int)> resolve = [&](int v) {
    Value& value = net_.values[v];
    if (value.data != nullptr || value.parent < 0) return;
    resolve(value.parent);
    const Value& parent = net_.values[value.parent];
    value.data = parent.data + value.offset;
    value.stride = parent.stride;
  };
  for (size_t v = 0; v < net_.values.size(); ++v) resolve(static_cast<int>(v));
}

Status Builder::MakeSteps(size_t i) {
  const OnnxNode& n = graph_.nodes[i];
  const std::vector<int>& ins = node_inputs_[i];
  Value& out = net_.values[node_outputs_[i][0]];
  const Value& x = net_.values[ins[0]];
  if (x.data == nullptr || out.data == nullptr) return Fail(i, "out of memory");
  pthreadpool_t pool = net_.pool.get();
  constexpr float kInf = std::numeric_limits<float>::infinity();
  auto check = [&](xnn_status status, const char* what) -> Status {
    if (status == xnn_status_success) return Status::Ok();
    return Fail(i, std::string("XNNPACK ") + what + " failed (status " +
                       std::to_string(static_cast<int>(status)) + ")");
  };
  auto run = [this](xnn_operator_t op) {
    net_.steps.push_back([op](pthreadpool_t pool) { xnn_run_operator(op, pool); });
  };

  if (n.op_type == "Conv") {
    const OnnxTensor& w = *Initializer(n.inputs[1]);
    const OnnxTensor* b = n.inputs.size() > 2 && !n.inputs[2].empty() ? Initializer(n.inputs[2]) : nullptr;
    const int64_t group = n.Attr("group") ? n.Attr("group")->i : 1;
    const auto strides = Ints(n, "strides", {1, 1});
    const auto dil = Ints(n, "dilations", {1, 1});
    const auto pads = Ints(n, "pads", {0, 0, 0, 0});
    const int64_t o = w.dims[0], ci = w.dims[1], kh = w.dims[2], kw = w.dims[3];
    // ONNX [O][I/g][kh][kw] -> XNNPACK's [g][O/g][kh][kw][I/g] (the same as [O][kh][kw][I/g]).
    std::vector<float> kernel(static_cast<size_t>(o * ci * kh * kw));
    for (int64_t a = 0; a < o; ++a)
      for (int64_t c = 0; c < ci; ++c)
        for (int64_t y = 0; y < kh; ++y)
          for (int64_t z = 0; z < kw; ++z)
            kernel[((a * kh + y) * kw + z) * ci + c] = w.floats[((a * ci + c) * kh + y) * kw + z];
    std::vector<float> bias = b ? b->floats : std::vector<float>(static_cast<size_t>(o), 0.f);
    xnn_operator_t op = nullptr;
    ACCEL_RETURN_IF_ERROR(
        check(xnn_create_convolution2d_nhwc_f32(pads[0], pads[3], pads[2], pads[1], kh, kw, strides[0],
                                                strides[1], dil[0], dil[1], group, ci, o / group, x.stride,
                                                out.stride, kernel.data(), bias.data(), -kInf, kInf, 0, &op),
              "convolution create"));
    net_.operators.emplace_back(op);
    ACCEL_RETURN_IF_ERROR(
        check(xnn_setup_convolution2d_nhwc_f32(op, 1, x.shape[2], x.shape[3], x.data, out.data, pool),
              "convolution setup"));
    run(op);
  } else if (n.op_type == kFusedSilu) {
    const k::ConstStrided in{x.data, x.stride};
    const k::Strided o{out.data, out.stride};
    const size_t pixels = x.pixels, channels = x.channels;
    net_.steps.push_back(
        [in, o, pixels, channels](pthreadpool_t pool) { k::Silu(in, o, pixels, channels, pool); });
  } else if (n.op_type == "Sigmoid") {
    xnn_operator_t op = nullptr;
    ACCEL_RETURN_IF_ERROR(
        check(xnn_create_sigmoid_nc_f32(x.channels, x.stride, out.stride, 0, &op), "sigmoid create"));
    net_.operators.emplace_back(op);
    ACCEL_RETURN_IF_ERROR(
        check(xnn_setup_sigmoid_nc_f32(op, x.pixels, x.data, out.data, pool), "sigmoid setup"));
    run(op);
  } else if (n.op_type == "Add" || n.op_type == "Mul") {
    const Value& y = net_.values[ins[1]];
    const k::BinaryOp kind = n.op_type == "Add" ? k::BinaryOp::kAdd : k::BinaryOp::kMul;
    const k::ConstStrided a{x.data, x.stride}, bb{y.data, y.stride};
    const k::Strided o{out.data, out.stride};
    const size_t pixels = x.pixels, channels = x.channels;
    net_.steps.push_back([=](pthreadpool_t pool) { k::Binary(kind, a, bb, o, pixels, channels, pool); });
  } else if (n.op_type == "MaxPool") {
    const auto kernel = Ints(n, "kernel_shape", {});
    const auto strides = Ints(n, "strides", {1, 1});
    const auto dil = Ints(n, "dilations", {1, 1});
    const auto pads = Ints(n, "pads", {0, 0, 0, 0});
    xnn_operator_t op = nullptr;
    ACCEL_RETURN_IF_ERROR(
        check(xnn_create_max_pooling2d_nhwc_f32(pads[0], pads[3], pads[2], pads[1], kernel[0], kernel[1],
                                                strides[0], strides[1], dil[0], dil[1], x.channels, x.stride,
                                                out.stride, -kInf, kInf, 0, &op),
              "max pooling create"));
    net_.operators.emplace_back(op);
    ACCEL_RETURN_IF_ERROR(
        check(xnn_setup_max_pooling2d_nhwc_f32(op, 1, x.shape[2], x.shape[3], x.data, out.data, pool),
              "max pooling setup"));
    run(op);
  } else if (n.op_type == "Resize" || n.op_type == "Upsample") {
    const k::ConstStrided in{x.data, x.stride};
    const k::Strided o{out.data, out.stride};
    const size_t h = x.shape[2], w = x.shape[3], c = x.channels;
    const int sh = static_cast<int>(out.shape[2] / x.shape[2]),
              sw = static_cast<int>(out.shape[3] / x.shape[3]);
    net_.steps.push_back([=](pthreadpool_t pool) { k::ResizeNearest(in, h, w, c, sh, sw, o, pool); });
  } else if (n.op_type == "Concat") {
    // Inputs not written into their slot are copied there (a strided copy, XNNPACK's copy operator).
    size_t offset = 0;
    for (int id : ins) {
      const Value& v = net_.values[id];
      const size_t slot = offset;
      const bool channel_concat = v.pixels == out.pixels;  // else along pixels, with the same channels
      offset += channel_concat ? v.channels : v.pixels * out.stride;
      if (v.data == out.data + slot) continue;  // written in place by its producer
      xnn_operator_t op = nullptr;
      ACCEL_RETURN_IF_ERROR(
          check(xnn_create_copy_nc_x32(v.channels, v.stride, out.stride, 0, &op), "copy create"));
      net_.operators.emplace_back(op);
      ACCEL_RETURN_IF_ERROR(
          check(xnn_setup_copy_nc_x32(op, v.pixels, v.data, out.data + slot, pool), "copy setup"));
      run(op);
      ++net_.copies;
    }
  }
  // Reshape and Transpose are views: nothing to run.
  return Status::Ok();
}

}  // namespace

XnnpackNet::XnnpackNet(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
XnnpackNet::~XnnpackNet() = default;

StatusOr<std::unique_ptr<XnnpackNet>> XnnpackNet::FromBytes(std::string_view onnx,
                                                            const XnnpackNetOptions& options) {
  ACCEL_RETURN_IF_ERROR(XnnInitialize());
  OnnxRewriteOptions rewrite_options;
  rewrite_options.cut_focus = options.cut_focus;
  rewrite_options.fuse_silu = true;
  rewrite_options.silu_op_type = kFusedSilu;
  rewrite_options.cut_output_transpose = false;  // free in NHWC
  rewrite_options.cascade_max_pools = options.cascade_max_pools;
  auto rewritten = RewriteOnnxForOpenCv(onnx, rewrite_options);
  if (!rewritten.ok()) return InvalidArgument("not a readable ONNX model: " + rewritten.status().message());
  auto impl = std::make_unique<Impl>();
  impl->rewrite_summary = rewritten->Summary();
  impl->focus = rewritten->focus;
  ACCEL_ASSIGN_OR_RETURN(OnnxGraph graph, ReadOnnxGraph(rewritten->model));
  rewritten->model.clear();
  if (options.threads > 1) {
    impl->pool.reset(pthreadpool_create(static_cast<size_t>(options.threads)));
    if (!impl->pool) return Internal("xnnpack runtime: cannot create a thread pool");
  }
  Builder builder(*impl, graph);
  ACCEL_RETURN_IF_ERROR(builder.Build());
  const Value& in = impl->values[impl->input_value];
  impl->use_pool = impl->pool != nullptr;
  impl->input_shape = impl->focus.active
                          ? std::vector<int64_t>{1, in.shape[1] / 4, in.shape[2] * 2, in.shape[3] * 2}
                          : in.shape;
  auto net = std::unique_ptr<XnnpackNet>(new XnnpackNet(std::move(impl)));
  if (net->impl_->pool && options.time_threads_at_load) ACCEL_RETURN_IF_ERROR(net->ChooseThreads());
  return net;
}

Status XnnpackNet::ChooseThreads() {
  Impl& m = *impl_;
  Tensor zeros(DType::kFloat32, m.input_shape);
  zeros.Fill(0);
  std::vector<double> pooled, alone;
  for (int i = 0; i <= kThreadTimingRuns; ++i) {
    for (bool use_pool : {true, false}) {
      m.use_pool = use_pool;
      const auto t0 = std::chrono::steady_clock::now();
      ACCEL_RETURN_IF_ERROR(Run(zeros).status());
      const double ms =
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
      if (i > 0) (use_pool ? pooled : alone).push_back(ms);
    }
  }
  std::sort(pooled.begin(), pooled.end());
  std::sort(alone.begin(), alone.end());
  const double with_pool = pooled[pooled.size() / 2], without = alone[alone.size() / 2];
  m.use_pool = with_pool <= without;
  char note[160];
  std::snprintf(note, sizeof note, "%zu threads (measured %.1f ms vs 1 thread %.1f ms at load)",
                pthreadpool_get_threads_count(m.pool.get()), with_pool, without);
  if (!m.use_pool)
    std::snprintf(note, sizeof note, "1 thread (measured %.1f ms vs %zu threads %.1f ms at load)", without,
                  pthreadpool_get_threads_count(m.pool.get()), with_pool);
  m.threads_note = note;
  return Status::Ok();
}

StatusOr<std::unique_ptr<XnnpackNet>> XnnpackNet::Load(const ModelConfig& model,
                                                       const std::filesystem::path& onnx,
                                                       const XnnpackNetOptions& options) {
  if (model.input.layout != TensorLayout::kNCHW || model.input.dtype != DType::kFloat32)
    return FailedPrecondition("xnnpack runtime: the model's input must be float32 NCHW");
  std::ifstream in(onnx, std::ios::binary);
  if (!in) return NotFound("cannot read '" + onnx.string() + "'");
  const std::string bytes((std::istreambuf_iterator<char>(in)), {});
  ACCEL_ASSIGN_OR_RETURN(auto net, FromBytes(bytes, options));
  const Value& input = net->impl_->values[net->impl_->input_value];
  if (input.name != model.input.name)
    return FailedPrecondition("xnnpack runtime: the graph's input is '" + input.name +
                              "', model.yaml says '" + model.input.name + "'");
  return net;
}

StatusOr<TensorList> XnnpackNet::Run(const Tensor& input) {
  Impl& m = *impl_;
  if (input.dtype() != DType::kFloat32 || input.shape() != m.input_shape)
    return InvalidArgument("xnnpack runtime: the input is not float32 of the graph's input shape");
  const Value& in = m.values[m.input_value];
  pthreadpool_t pool = m.use_pool ? m.pool.get() : nullptr;
  xnnpack_kernels::NchwToNhwc(input.data<float>(), m.input_shape[1], m.input_shape[2], m.input_shape[3],
                              &m.focus, in.data, pool);
  for (const auto& step : m.steps) step(pool);
  TensorList outputs;
  for (int id : m.outputs) {
    const Value& v = m.values[id];
    Tensor t(DType::kFloat32, v.shape, v.name);
    float* dst = t.data<float>();
    if (v.layout == Layout::kRows3) {  // [1, L, C]: the storage's rows are the output's rows
      for (size_t p = 0; p < v.pixels; ++p)
        std::memcpy(dst + p * v.channels, v.data + p * v.stride, v.channels * 4);
    } else {  // [1, C, H, W] or [1, C, L]: channel-major
      for (size_t p = 0; p < v.pixels; ++p)
        for (size_t c = 0; c < v.channels; ++c) dst[c * v.pixels + p] = v.data[p * v.stride + c];
    }
    outputs.push_back(std::move(t));
  }
  return outputs;
}

std::string XnnpackNet::Summary() const {
  const Impl& m = *impl_;
  const std::string threads =
      !m.threads_note.empty()
          ? m.threads_note
          : (m.use_pool ? std::to_string(pthreadpool_get_threads_count(m.pool.get())) : "1") +
                std::string(" thread(s)");
  return threads + ", " + std::to_string(m.operators.size()) + " XNNPACK operators, " +
         std::to_string(m.steps.size()) + " steps, " + std::to_string(m.slices) +
         " outputs written into concat slices, " + std::to_string(m.copies) + " concat copies, " +
         std::to_string(m.in_place) + " SiLU in place, " +
         std::to_string((m.buffer_bytes + (1 << 19)) >> 20) +
         " MB of tensors; rewrites: " + m.rewrite_summary;
}

}  // namespace accel
