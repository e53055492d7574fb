#include "engines/cpu/onnx_graph_rewrite.h"

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "core/onnx_info.h"
#include "engines/cpu/onnx_wire.h"

namespace accel {
namespace {

using onnx_wire::AppendBytesField;
using onnx_wire::AppendVarintField;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

std::string SharedModel(const std::string& file) { return std::string(ACCEL_SHARED_DIR) + "/models/" + file; }

// A tiny ONNX writer for synthetic graphs (field numbers of onnx.proto).
struct OnnxBuilder {
  std::string graph;

  void Node(const std::string& op, std::vector<std::string> inputs, std::vector<std::string> outputs,
            const std::string& int_attr = {}, int64_t attr_value = 0) {
    std::string node;
    for (const auto& i : inputs) AppendBytesField(node, 1, i);
    for (const auto& o : outputs) AppendBytesField(node, 2, o);
    AppendBytesField(node, 4, op);
    if (!int_attr.empty()) {
      std::string attr;
      AppendBytesField(attr, 1, int_attr);
      AppendVarintField(attr, 3, static_cast<uint64_t>(attr_value));
      AppendVarintField(attr, 20, 2);  // INT
      AppendBytesField(node, 5, attr);
    }
    AppendBytesField(graph, 1, node);
  }
  void Pool(const std::string& in, const std::string& out, int64_t kernel, int64_t stride = 1) {
    std::string node;
    AppendBytesField(node, 1, in);
    AppendBytesField(node, 2, out);
    AppendBytesField(node, 4, "MaxPool");
    for (const auto& [name, values] : std::vector<std::pair<std::string, std::vector<int64_t>>>{
             {"kernel_shape", {kernel, kernel}},
             {"pads", std::vector<int64_t>(4, kernel / 2)},
             {"strides", {stride, stride}}}) {
      std::string attr;
      AppendBytesField(attr, 1, name);
      for (int64_t v : values) AppendVarintField(attr, 8, static_cast<uint64_t>(v));
      AppendVarintField(attr, 20, 7);  // INTS
      AppendBytesField(node, 5, attr);
    }
    AppendBytesField(graph, 1, node);
  }
  void Int64Constant(const std::string& name, int64_t value) {
    std::string tensor, packed;
    AppendVarintField(tensor, 1, 1);  // dims [1]
    AppendVarintField(tensor, 2, 7);  // INT64
    onnx_wire::AppendVarint(packed, static_cast<uint64_t>(value));
    AppendBytesField(tensor, 7, packed);
    AppendBytesField(tensor, 8, name);
    AppendBytesField(graph, 5, tensor);
  }
  void Value(uint32_t field, const std::string& name, std::vector<int64_t> dims) {
    std::string shape;
    for (int64_t d : dims) {
      std::string dim;
      AppendVarintField(dim, 1, static_cast<uint64_t>(d));
      AppendBytesField(shape, 1, dim);
    }
    std::string tensor_type, type, info;
    AppendVarintField(tensor_type, 1, 1);  // FLOAT
    AppendBytesField(tensor_type, 2, shape);
    AppendBytesField(type, 1, tensor_type);
    AppendBytesField(info, 1, name);
    AppendBytesField(info, 2, type);
    AppendBytesField(graph, field, info);
  }
  void Input(const std::string& name, std::vector<int64_t> dims) { Value(11, name, std::move(dims)); }
  void Output(const std::string& name, std::vector<int64_t> dims) { Value(12, name, std::move(dims)); }

  std::string Model() const {
    std::string model;
    AppendVarintField(model, 1, 7);  // IR version
    AppendBytesField(model, 7, graph);
    return model;
  }
};

// YOLOX's Focus on a [1, 3, 8, 8] input, phases in YOLOX's order, then a Relu; `step` and `extra_user`
// break the pattern for the negative cases.
std::string FocusModel(int64_t step = 2, bool extra_user = false, bool repeat_phase = false) {
  OnnxBuilder b;
  b.Input("x", {1, 3, 8, 8});
  for (auto [name, v] : std::vector<std::pair<std::string, int64_t>>{
           {"zero", 0}, {"one", 1}, {"end", 1 << 30}, {"two", 2}, {"three", 3}, {"step", step}})
    b.Int64Constant(name, v);
  const int rows[4] = {0, 1, 0, repeat_phase ? 0 : 1}, cols[4] = {0, 0, 1, 1};
  std::vector<std::string> phases;
  for (int k = 0; k < 4; ++k) {
    const std::string r = "r" + std::to_string(k), p = "p" + std::to_string(k);
    b.Node("Slice", {"x", rows[k] ? "one" : "zero", "end", "two", "step"}, {r});
    b.Node("Slice", {r, cols[k] ? "one" : "zero", "end", "three", "step"}, {p});
    phases.push_back(p);
  }
  b.Node("Concat", phases, {"focused"}, "axis", 1);
  b.Node("Relu", {"focused"}, {"y"});
  b.Output("y", {1, 12, 4, 4});
  if (extra_user) {
    b.Node("Relu", {"x"}, {"z"});
    b.Output("z", {1, 3, 8, 8});
  }
  return b.Model();
}

TEST(OnnxGraphRewriteTest, RewritesYoloxNano) {
  const std::string original = ReadFile(SharedModel("yolox_nano.onnx"));
  ASSERT_FALSE(original.empty());
  auto rewrite = RewriteOnnxForOpenCv(original);
  ASSERT_TRUE(rewrite.ok()) << rewrite.status().message();
  EXPECT_TRUE(rewrite->focus.active);
  EXPECT_EQ(rewrite->focus.input, "images");
  EXPECT_EQ(rewrite->focus.row_phase, (std::array<int, 4>{0, 1, 0, 1}));
  EXPECT_EQ(rewrite->focus.col_phase, (std::array<int, 4>{0, 0, 1, 1}));
  EXPECT_EQ(rewrite->silu_fused, 104);  // every SiLU of the network; the head's 6 plain Sigmoids stay
  ASSERT_EQ(rewrite->transposed_outputs.size(), 1u);
  EXPECT_EQ(rewrite->transposed_outputs[0].name, "output");
  EXPECT_EQ(rewrite->max_pools_cascaded, 2);  // SPP's 9 and 13 after its 5
  auto signature = ReadOnnxSignature(rewrite->model);
  ASSERT_TRUE(signature.ok()) << signature.status().message();
  EXPECT_EQ(signature->inputs.at(0).dims, (std::vector<int64_t>{1, 12, 208, 208}));
  EXPECT_EQ(signature->outputs.at(0).dims, (std::vector<int64_t>{1, 85, 3549}));
}

TEST(OnnxGraphRewriteTest, KeepsASymbolicBatchDimension) {
  auto rewrite = RewriteOnnxForOpenCv(ReadFile(SharedModel("yolox_nano_dynbatch.onnx")));
  ASSERT_TRUE(rewrite.ok()) << rewrite.status().message();
  ASSERT_TRUE(rewrite->focus.active);
  auto signature = ReadOnnxSignature(rewrite->model);
  ASSERT_TRUE(signature.ok());
  EXPECT_EQ(signature->inputs.at(0).dims, (std::vector<int64_t>{-1, 12, 208, 208}));
}

TEST(OnnxGraphRewriteTest, DisabledRewritesLeaveTheBytesAlone) {
  const std::string original = ReadFile(SharedModel("yolox_nano.onnx"));
  auto rewrite = RewriteOnnxForOpenCv(
      original,
      {.cut_focus = false, .fuse_silu = false, .cut_output_transpose = false, .cascade_max_pools = false});
  ASSERT_TRUE(rewrite.ok());
  EXPECT_FALSE(rewrite->changed());
  EXPECT_EQ(rewrite->model, original);
  EXPECT_EQ(rewrite->Summary(), "none");
}

TEST(OnnxGraphRewriteTest, CutsASyntheticFocus) {
  auto rewrite = RewriteOnnxForOpenCv(FocusModel());
  ASSERT_TRUE(rewrite.ok()) << rewrite.status().message();
  ASSERT_TRUE(rewrite->focus.active);
  auto signature = ReadOnnxSignature(rewrite->model);
  ASSERT_TRUE(signature.ok()) << signature.status().message();
  EXPECT_EQ(signature->inputs.at(0).dims, (std::vector<int64_t>{1, 12, 4, 4}));
}

TEST(OnnxGraphRewriteTest, LeavesANearFocusAlone) {
  for (const auto& [why, model] :
       std::vector<std::pair<std::string, std::string>>{{"step 1", FocusModel(1)},
                                                        {"the input has another user", FocusModel(2, true)},
                                                        {"a phase twice", FocusModel(2, false, true)}}) {
    auto rewrite = RewriteOnnxForOpenCv(model);
    ASSERT_TRUE(rewrite.ok()) << why;
    EXPECT_FALSE(rewrite->focus.active) << why;
    EXPECT_EQ(rewrite->model, model) << why;
  }
}

TEST(OnnxGraphRewriteTest, FusesOnlyTrueSilu) {
  OnnxBuilder b;
  b.Input("x", {1, 4});
  b.Input("w", {1, 4});
  b.Node("Sigmoid", {"x"}, {"s1"});
  b.Node("Mul", {"s1", "x"}, {"y1"});  // SiLU, operands the other way round
  b.Node("Sigmoid", {"y1"}, {"s2"});
  b.Node("Mul", {"y1", "s2"}, {"y2"});
  b.Node("Add", {"s2", "y2"}, {"y3"});  // s2 has a second user: not fusable
  b.Node("Sigmoid", {"y3"}, {"s3"});
  b.Node("Mul", {"w", "s3"}, {"y4"});  // multiplies by another tensor: not SiLU
  b.Output("y4", {1, 4});
  auto rewrite = RewriteOnnxForOpenCv(b.Model(), {.silu_op_type = "TestSiLU"});
  ASSERT_TRUE(rewrite.ok()) << rewrite.status().message();
  EXPECT_EQ(rewrite->silu_fused, 1);
  EXPECT_EQ(rewrite->silu_op_type, "TestSiLU");
  EXPECT_NE(rewrite->model.find("TestSiLU"), std::string::npos);
}

TEST(OnnxGraphRewriteTest, CascadesOnlySppLikeMaxPools) {
  auto spp = [](int64_t stride, int64_t last_kernel) {
    OnnxBuilder b;
    b.Input("x", {1, 2, 13, 13});
    b.Pool("x", "p5", 5);
    b.Pool("x", "p9", 9, stride);
    b.Pool("x", "p13", last_kernel);
    b.Node("Concat", {"x", "p5", "p9", "p13"}, {"y"}, "axis", 1);
    b.Output("y", {1, 8, 13, 13});
    return b.Model();
  };
  auto rewrite = RewriteOnnxForOpenCv(spp(1, 13));
  ASSERT_TRUE(rewrite.ok()) << rewrite.status().message();
  EXPECT_EQ(rewrite->max_pools_cascaded, 2);
  for (const auto& [why, model] : std::vector<std::pair<std::string, std::string>>{
           {"a stride of 2", spp(2, 13)}, {"kernels 5, 9, 11", spp(1, 11)}}) {
    auto untouched = RewriteOnnxForOpenCv(model);
    ASSERT_TRUE(untouched.ok()) << why;
    EXPECT_EQ(untouched->max_pools_cascaded, 0) << why;
  }
}

TEST(OnnxGraphRewriteTest, RejectsBytesThatAreNotOnnx) {
  EXPECT_EQ(RewriteOnnxForOpenCv("\xff\xff\xff").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(RewriteOnnxForOpenCv("plain text, not a model").status().code(), StatusCode::kInvalidArgument);
  const std::string original = ReadFile(SharedModel("yolox_nano.onnx"));
  for (size_t cut : {size_t{10}, original.size() / 3, original.size() - 5})
    EXPECT_FALSE(RewriteOnnxForOpenCv(std::string_view(original).substr(0, cut)).ok()) << cut;
}

// The rewrite parses what clients upload (Frigate's zmq model uploads): corrupted models must give an
// error or a well-formed result, never a crash or a read out of bounds (run under ASan in the sanitizer
// build). Deterministic bit flips, most of them in the nodes at the start of the graph.
TEST(OnnxGraphRewriteTest, SurvivesCorruptedModels) {
  const std::string original = ReadFile(SharedModel("yolox_nano.onnx"));
  ASSERT_GT(original.size(), 100000u);
  std::mt19937 random(17);
  int ok = 0;
  for (int round = 0; round < 40; ++round) {
    std::string corrupt = original;
    for (int flip = 0; flip < 4; ++flip) {
      const size_t range = round % 3 == 0 ? corrupt.size() : 65536;
      corrupt[random() % range] ^= static_cast<char>(1u << (random() % 8));
    }
    auto rewrite = RewriteOnnxForOpenCv(corrupt);
    if (!rewrite.ok()) continue;
    ++ok;
    EXPECT_TRUE(onnx_wire::ParseMessage(rewrite->model).ok()) << "round " << round;
  }
  EXPECT_GT(ok, 0);  // most single-bit damage still parses as protobuf
}

}  // namespace
}  // namespace accel
