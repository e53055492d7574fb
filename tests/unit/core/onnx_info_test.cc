#include "core/onnx_info.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>

#include "../../support/onnx_test_bytes.h"

namespace accel {
namespace {

using namespace onnx_test;

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST(OnnxInfoTest, ReadsTheDefaultModelsSignature) {
  const auto dir = std::filesystem::path(ACCEL_SHARED_DIR) / "models";
  if (!std::filesystem::exists(dir / "yolox_nano.onnx")) GTEST_SKIP() << "no " << dir / "yolox_nano.onnx";
  auto fixed = ReadOnnxSignature(ReadFile(dir / "yolox_nano.onnx"));
  ASSERT_TRUE(fixed.ok()) << fixed.status().ToString();
  EXPECT_GE(fixed->ir_version, 3);
  ASSERT_EQ(fixed->inputs.size(), 1u);  // the weights (initializers) are not inputs
  EXPECT_EQ(fixed->inputs[0].name, "images");
  EXPECT_EQ(fixed->inputs[0].elem_type, 1);
  EXPECT_EQ(fixed->inputs[0].dims, (std::vector<int64_t>{1, 3, 416, 416}));
  ASSERT_EQ(fixed->outputs.size(), 1u);
  EXPECT_EQ(fixed->outputs[0].dims, (std::vector<int64_t>{1, 3549, 85}));
  auto dynamic = ReadOnnxSignature(ReadFile(dir / "yolox_nano_dynbatch.onnx"));
  ASSERT_TRUE(dynamic.ok()) << dynamic.status().ToString();
  EXPECT_EQ(dynamic->inputs[0].dims[0], -1);  // symbolic batch
  EXPECT_EQ(dynamic->inputs[0].dims[1], 3);
}

TEST(OnnxInfoTest, ReadsAHandBuiltGraph) {
  const std::string model = Model(Graph({ValueInfo("x", 2, {0, 224, 224, 3})},
                                        {ValueInfo("y", 1, {}, false), ValueInfo("z", 7, {4})}, {"w1", "w2"}),
                                  4);
  auto sig = ReadOnnxSignature(model);
  ASSERT_TRUE(sig.ok()) << sig.status().ToString();
  EXPECT_EQ(sig->ir_version, 4);
  EXPECT_EQ(sig->producer, "accel-test");
  ASSERT_EQ(sig->inputs.size(), 1u);  // w1, w2 are initializers
  EXPECT_EQ(sig->inputs[0].name, "x");
  EXPECT_EQ(OnnxElemTypeName(sig->inputs[0].elem_type), "uint8");
  EXPECT_EQ(sig->inputs[0].dims, (std::vector<int64_t>{-1, 224, 224, 3}));
  ASSERT_EQ(sig->outputs.size(), 2u);
  EXPECT_FALSE(sig->outputs[0].has_shape);
  EXPECT_TRUE(sig->outputs[1].has_shape);
  EXPECT_EQ(OnnxElemTypeName(sig->outputs[1].elem_type), "int64");
}

TEST(OnnxInfoTest, RefusesWhatIsNotAnOnnxModel) {
  const std::string graph = Graph({ValueInfo("x", 1, {1, 3, 8, 8})}, {ValueInfo("y", 1, {1, 10})});
  EXPECT_FALSE(ReadOnnxSignature("").ok());
  EXPECT_FALSE(ReadOnnxSignature(BytesField(7, graph)).ok());  // no IR version
  EXPECT_FALSE(ReadOnnxSignature(VarintField(1, 7)).ok());     // no graph
  EXPECT_FALSE(ReadOnnxSignature(Model(graph, 0)).ok());       // IR version 0
  EXPECT_FALSE(ReadOnnxSignature(Model(graph, 5000)).ok());    // not a plausible IR version
  EXPECT_FALSE(ReadOnnxSignature(Model(Graph({}, {ValueInfo("y", 1, {1})}))).ok());  // no inputs
  EXPECT_FALSE(ReadOnnxSignature(Model(Graph({ValueInfo("x", 1, {1})}, {}))).ok());  // no outputs
  EXPECT_FALSE(ReadOnnxSignature(VarintField(1, 7) + Key(3, 3)).ok());               // a group (wire type 3)
  EXPECT_FALSE(ReadOnnxSignature(VarintField(1, 7) + Key(7, 2) + Varint(1000) + "short").ok());
  EXPECT_FALSE(ReadOnnxSignature(VarintField(1, 7) + Key(5, 0) + std::string(11, '\xff')).ok());
  EXPECT_FALSE(ReadOnnxSignature(std::string("PK\x03\x04", 4) + std::string(100, 'x')).ok());  // TorchScript
  EXPECT_FALSE(ReadOnnxSignature(std::string("\x1c\0\0\0TFL3", 8) + std::string(100, '\0')).ok());
  auto error = ReadOnnxSignature("this is a text file, not a model\n");
  ASSERT_FALSE(error.ok());
  EXPECT_EQ(error.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(error.status().message().find("not an ONNX model"), std::string::npos);
}

TEST(OnnxInfoTest, EveryTruncationAndRandomBytesFailCleanly) {
  const std::string model = YoloxModel(64, 80);
  ASSERT_TRUE(ReadOnnxSignature(model).ok());
  // Every prefix ends inside some field except those that end between top-level fields before the graph;
  // none may be accepted as a full model, and none may read past its end (ASan checks the latter).
  for (size_t n = 0; n < model.size(); ++n)
    EXPECT_FALSE(ReadOnnxSignature(model.substr(0, n)).ok()) << "prefix of " << n << " bytes";
  std::mt19937 rng(7);
  for (int i = 0; i < 2000; ++i) {
    std::string bytes = model;
    bytes[rng() % bytes.size()] = static_cast<char>(rng());
    (void)ReadOnnxSignature(bytes);  // any answer, no crash
    std::string noise(rng() % 300, '\0');
    for (char& c : noise) c = static_cast<char>(rng());
    (void)ReadOnnxSignature(noise);
  }
}

}  // namespace
}  // namespace accel
