#include "api/zmq_model_store.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "core/model_config.h"
#include "onnx_test_bytes.h"

namespace accel {
namespace {

namespace fs = std::filesystem;
using namespace onnx_test;

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

class ZmqModelStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("accel-store-test-" + std::to_string(::getpid()) + "-" +
                                         ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_);
    dir_ = root_ / "uploads";
  }
  void TearDown() override { fs::remove_all(root_); }
  std::vector<std::string> Entries(const fs::path& dir) {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
  }

  fs::path root_;
  fs::path dir_;
};

TEST_F(ZmqModelStoreTest, ModelNamesKeepOnlySafeCharacters) {
  EXPECT_EQ(*ZmqModelStore::ModelNameFor("yolox_nano.onnx"), "yolox_nano");
  EXPECT_EQ(*ZmqModelStore::ModelNameFor("/config/model_cache/my model.onnx"), "my_model");
  EXPECT_EQ(*ZmqModelStore::ModelNameFor("../../etc/passwd"), "passwd");
  EXPECT_EQ(*ZmqModelStore::ModelNameFor("..\\..\\evil.onnx"), "evil");
  EXPECT_EQ(*ZmqModelStore::ModelNameFor(".hidden.onnx"), "hidden");
  EXPECT_EQ(*ZmqModelStore::ModelNameFor("-rf.onnx"), "rf");
  EXPECT_EQ(*ZmqModelStore::ModelNameFor("yolov9-t-320.v2.onnx"), "yolov9-t-320.v2");
  EXPECT_EQ(*ZmqModelStore::ModelNameFor("mod\xc3\xa8le"), "mod__le");
  EXPECT_EQ(ZmqModelStore::ModelNameFor(std::string(200, 'a') + ".onnx")->size(), 64u);
  for (const char* bad : {"", "/", "../", "..", ".", "config/..", "...onnx", "-.onnx"})
    EXPECT_FALSE(ZmqModelStore::ModelNameFor(bad).ok()) << bad;
}

TEST_F(ZmqModelStoreTest, SavesAYoloxUploadWithAModelYamlThatLoads) {
  ZmqModelStore store(dir_);
  ASSERT_TRUE(store.Open().ok());
  const std::string bytes = YoloxModel(64, 80, 0);
  auto yaml = store.Save("/config/model_cache/tiny yolox.onnx", bytes);
  ASSERT_TRUE(yaml.ok()) << yaml.status().ToString();
  EXPECT_EQ(*yaml, dir_ / "tiny_yolox" / "model.yaml");
  EXPECT_EQ(ReadFile(dir_ / "tiny_yolox" / "tiny_yolox.onnx"), bytes);
  EXPECT_EQ(Entries(dir_ / "tiny_yolox"), (std::vector<std::string>{"model.yaml", "tiny_yolox.onnx"}));
  auto config = LoadModelConfig(*yaml);
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->name, "tiny_yolox");
  EXPECT_EQ(config->input.width, 64);
  EXPECT_EQ(config->input.layout, TensorLayout::kNCHW);
  EXPECT_EQ(config->input.color, ColorOrder::kBGR);
  EXPECT_EQ(config->outputs[0].shape, (std::vector<int64_t>{84, 85}));
  EXPECT_EQ(config->decoder.family, "yolox");
  EXPECT_EQ(config->labels.size(), 80u);
  EXPECT_EQ(config->max_batch, 8);  // symbolic batch
  ASSERT_NE(config->ArtifactFor("cpu"), nullptr);
  EXPECT_EQ(config->ArtifactFor("cpu")->path, dir_ / "tiny_yolox" / "tiny_yolox.onnx");
  // Uploading again replaces the file and the generated model.yaml.
  const std::string three_classes =
      Model(Graph({ValueInfo("in", 2, {1, 32, 32, 3})}, {ValueInfo("out", 1, {1, 21, 8})}));
  ASSERT_TRUE(store.Save("tiny yolox.onnx", three_classes).ok());
  auto replaced = LoadModelConfig(*yaml);
  ASSERT_TRUE(replaced.ok()) << replaced.status().ToString();
  EXPECT_EQ(replaced->input.layout, TensorLayout::kNHWC);
  EXPECT_EQ(replaced->input.dtype, DType::kUInt8);
  EXPECT_EQ(replaced->labels, (std::vector<std::string>{"class_0", "class_1", "class_2"}));
  EXPECT_EQ(replaced->max_batch, 1);
}

TEST_F(ZmqModelStoreTest, RefusesWhatItCannotServeAndLeavesNothingBehind) {
  ZmqModelStore store(dir_);
  ASSERT_TRUE(store.Open().ok());
  auto not_onnx = store.Save("model.onnx", std::string("PK\x03\x04", 4) + std::string(1000, 'z'));
  ASSERT_FALSE(not_onnx.ok());
  EXPECT_NE(not_onnx.status().message().find("not an ONNX model"), std::string::npos);
  // ONNX, but not a layout the store can describe: it says what to write, and keeps nothing.
  const std::string detr =
      Model(Graph({ValueInfo("images", 1, {1, 3, 640, 640})},
                  {ValueInfo("boxes", 1, {1, 300, 4}), ValueInfo("logits", 1, {1, 300, 80})}));
  auto other = store.Save("rf-detr.onnx", detr);
  ASSERT_FALSE(other.ok());
  EXPECT_NE(other.status().message().find("model.yaml"), std::string::npos);
  const std::string bad_anchors =
      Model(Graph({ValueInfo("images", 1, {1, 3, 64, 64})}, {ValueInfo("output", 1, {1, 100, 85})}));
  EXPECT_FALSE(store.Save("anchors.onnx", bad_anchors).ok());
  EXPECT_TRUE(Entries(dir_).empty());
}

// Found by fuzz/onnx_upload_fuzzer: the label list was written for whatever class count the file declared
// (an output of [1, 21, 2^40] kept the upload thread busy and growing until the process ran out of memory),
// and a fixed batch past model.yaml's 1024 gave a model.yaml that does not load.
TEST_F(ZmqModelStoreTest, DescribesOnlyWhatAModelYamlCanHold) {
  auto yolox = [](int64_t batch, int64_t channels) {
    OnnxSignature s;
    s.ir_version = 7;
    s.inputs.push_back({"images", 1, {batch, 3, 32, 32}, true});
    s.outputs.push_back({"output", 1, {batch, 21, channels}, true});
    return s;
  };
  // (ASSERT: without the bound, the 2^40 case below would not return.)
  ASSERT_FALSE(GeneratedModelYaml("m", "m.onnx", yolox(1, 4096 + 6)).ok());
  auto many = GeneratedModelYaml("m", "m.onnx", yolox(1, int64_t{1} << 40));
  ASSERT_FALSE(many.ok());
  EXPECT_NE(many.status().message().find("classes"), std::string::npos);
  auto batch = GeneratedModelYaml("m", "m.onnx", yolox(1025, 85));
  ASSERT_FALSE(batch.ok());
  EXPECT_NE(batch.status().message().find("batch"), std::string::npos);
  // The largest of both still gives a model.yaml that loads.
  auto largest = GeneratedModelYaml("m", "m.onnx", yolox(1024, 4096 + 5));
  ASSERT_TRUE(largest.ok()) << largest.status().ToString();
  auto config = ParseModelConfig(*largest, root_);
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->max_batch, 1024);
  EXPECT_EQ(config->labels.size(), 4096u);
}

TEST_F(ZmqModelStoreTest, KeepsTheOperatorsModelYaml) {
  ZmqModelStore store(dir_);
  ASSERT_TRUE(store.Open().ok());
  fs::create_directories(dir_ / "custom");
  const std::string mine =
      "name: custom\ninput: {width: 640, height: 640}\noutputs: [{name: o, shape: [8400, 84]}]\n"
      "decoder: {family: raw}\nartifacts: {cpu: {format: onnx, path: custom.onnx}}\n";
  std::ofstream(dir_ / "custom" / "model.yaml") << mine;
  const std::string detr =
      Model(Graph({ValueInfo("images", 1, {1, 3, 640, 640})}, {ValueInfo("o", 1, {1, 8400, 84})}));
  auto yaml = store.Save("custom.onnx", detr);
  ASSERT_TRUE(yaml.ok()) << yaml.status().ToString();
  EXPECT_EQ(ReadFile(*yaml), mine);
  EXPECT_EQ(ReadFile(dir_ / "custom" / "custom.onnx"), detr);
}

TEST_F(ZmqModelStoreTest, NeverWritesThroughALinkOrPastTheLimit) {
  ZmqModelStore store(dir_, 2);
  ASSERT_TRUE(store.Open().ok());
  fs::create_directories(root_ / "elsewhere");
  fs::create_directory_symlink(root_ / "elsewhere", dir_ / "linked");
  auto linked = store.Save("linked.onnx", YoloxModel(64, 80));
  ASSERT_FALSE(linked.ok());
  EXPECT_TRUE(Entries(root_ / "elsewhere").empty());
  fs::remove(dir_ / "linked");
  ASSERT_TRUE(store.Save("a.onnx", YoloxModel(64, 80)).ok());
  ASSERT_TRUE(store.Save("b.onnx", YoloxModel(64, 80)).ok());
  auto third = store.Save("c.onnx", YoloxModel(64, 80));
  ASSERT_FALSE(third.ok());
  EXPECT_EQ(third.status().code(), StatusCode::kResourceExhausted);
  EXPECT_TRUE(store.Save("a.onnx", YoloxModel(64, 80)).ok());  // replacing one is not adding one
  EXPECT_EQ(Entries(dir_), (std::vector<std::string>{"a", "b"}));
}

}  // namespace
}  // namespace accel
