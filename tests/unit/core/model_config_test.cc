#include "core/model_config.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "core/model_repository.h"
#include "core/status.h"
#include "core/tensor.h"

namespace accel {
namespace {

TEST(ModelConfigTest, DefaultModelYamlParses) {
  auto config = LoadModelConfig(std::filesystem::path(ACCEL_SOURCE_DIR) / "models/yolox-nano/model.yaml");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->name, "yolox-nano");
  EXPECT_EQ(config->input.width, 416);
  EXPECT_EQ(config->input.color, ColorOrder::kBGR);
  EXPECT_EQ(config->input.letterbox, LetterboxMode::kTopLeft);
  EXPECT_EQ(config->InputItemShape(), (std::vector<int64_t>{3, 416, 416}));
  ASSERT_EQ(config->outputs.size(), 1u);
  EXPECT_EQ(config->outputs[0].shape, (std::vector<int64_t>{3549, 85}));
  EXPECT_EQ(config->labels.size(), 80u);
  EXPECT_EQ(config->LabelFor(62), "tv");
  EXPECT_EQ(config->LabelFor(80), "class_80");
  ASSERT_NE(config->ArtifactFor("cpu"), nullptr);
  EXPECT_EQ(config->ArtifactFor("cpu")->format, "onnx");
  EXPECT_TRUE(config->ArtifactFor("cpu")->path.is_absolute());
  EXPECT_EQ(config->ArtifactFor("hailo"), nullptr);
}

TEST(ModelConfigTest, RejectsBadValuesWithClearMessages) {
  const std::string base =
      "input: {width: 416, height: 416}\noutputs: [{name: out, shape: [10]}]\ndecoder: {family: raw}\n";
  EXPECT_TRUE(ParseModelConfig(base, "/tmp/m").ok());
  auto bad_layout =
      ParseModelConfig("input: {width: 4, height: 4, layout: CHW}\noutputs: [{shape: [1]}]", "/tmp/m");
  ASSERT_FALSE(bad_layout.ok());
  EXPECT_NE(bad_layout.status().message().find("layout"), std::string::npos);
  EXPECT_FALSE(ParseModelConfig("input: {width: 0, height: 4}\noutputs: [{shape: [1]}]", "/tmp/m").ok());
  EXPECT_FALSE(ParseModelConfig("input: {width: 4, height: 4}\n", "/tmp/m").ok());  // no outputs
  EXPECT_FALSE(ParseModelConfig(base + "max_batch: 0\n", "/tmp/m").ok());
  EXPECT_FALSE(ParseModelConfig(base + "artifacts: {cpu: {format: onnx}}\n", "/tmp/m").ok());
  auto not_yaml = ParseModelConfig("input: [unclosed", "/tmp/m");
  ASSERT_FALSE(not_yaml.ok());
  EXPECT_EQ(not_yaml.status().code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(ParseModelConfig(base + "labels: missing_file.txt\n", "/tmp/no-such-dir").ok());
}

TEST(ModelConfigTest, CpuRuntime) {
  const std::string base =
      "input: {width: 416, height: 416}\noutputs: [{name: out, shape: [10]}]\ndecoder: {family: raw}\n";
  EXPECT_EQ(ParseModelConfig(base, "/tmp/m")->cpu_runtime, "");
  EXPECT_EQ(ParseModelConfig(base + "cpu: {runtime: libtorch}\n", "/tmp/m")->cpu_runtime, "libtorch");
  EXPECT_EQ(ParseModelConfig(base + "cpu: {runtime: opencv}\n", "/tmp/m")->cpu_runtime, "opencv");
  EXPECT_EQ(ParseModelConfig(base + "cpu: {runtime: xnnpack}\n", "/tmp/m")->cpu_runtime, "xnnpack");
  auto bad = ParseModelConfig(base + "cpu: {runtime: onnxruntime}\n", "/tmp/m");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("cpu.runtime"), std::string::npos);
  EXPECT_FALSE(ParseModelConfig(base + "cpu: libtorch\n", "/tmp/m").ok());
}

TEST(ModelConfigTest, LabelsFromListAndFile) {
  const auto dir = std::filesystem::temp_directory_path() / "accel_labels_test";
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "labels.txt") << "cat\ndog\r\n\n";
  const std::string base = "input: {width: 8, height: 8}\noutputs: [{shape: [1]}]\ndecoder: {family: raw}\n";
  auto from_file = ParseModelConfig(base + "labels: labels.txt\n", dir);
  ASSERT_TRUE(from_file.ok()) << from_file.status().ToString();
  EXPECT_EQ(from_file->labels, (std::vector<std::string>{"cat", "dog"}));
  auto from_list = ParseModelConfig(base + "labels: [a, b, c]\n", dir);
  ASSERT_TRUE(from_list.ok());
  EXPECT_EQ(from_list->labels.size(), 3u);
  std::filesystem::remove_all(dir);
}

TEST(ModelRepositoryTest, ReportsBrokenModelsWithoutFailing) {
  const auto root = std::filesystem::temp_directory_path() / "accel_repo_test";
  std::filesystem::remove_all(root);
  std::filesystem::create_directories(root / "good");
  std::filesystem::create_directories(root / "broken");
  std::filesystem::create_directories(root / "not-a-model");
  std::ofstream(root / "good/model.yaml")
      << "input: {width: 8, height: 8}\noutputs: [{shape: [1]}]\ndecoder: {family: raw}\n";
  std::ofstream(root / "broken/model.yaml") << "input: {width: -1}\n";
  auto entries = ScanModelRepository(root);
  ASSERT_TRUE(entries.ok());
  ASSERT_EQ(entries->size(), 2u);
  EXPECT_EQ((*entries)[0].name, "broken");
  EXPECT_FALSE((*entries)[0].config.ok());
  EXPECT_TRUE((*entries)[1].config.ok());
  EXPECT_EQ((*entries)[1].config->name, "good");
  EXPECT_FALSE(ScanModelRepository(root / "absent").ok());
  std::filesystem::remove_all(root);
}

TEST(StatusTest, CodesMapToHttp) {
  EXPECT_EQ(HttpStatusFor(StatusCode::kInvalidArgument), 400);
  EXPECT_EQ(HttpStatusFor(StatusCode::kNotFound), 404);
  EXPECT_EQ(HttpStatusFor(StatusCode::kPayloadTooLarge), 413);
  EXPECT_EQ(HttpStatusFor(StatusCode::kUnsupportedMediaType), 415);
  EXPECT_EQ(HttpStatusFor(StatusCode::kResourceExhausted), 503);
  EXPECT_EQ(HttpStatusFor(StatusCode::kDeadlineExceeded), 504);
  Status s = NotFound("model x").WithContext("load");
  EXPECT_EQ(s.message(), "load: model x");
  EXPECT_EQ(s.ToString(), "NOT_FOUND: load: model x");
}

TEST(TensorTest, ShapeAndReshape) {
  Tensor t(DType::kFloat32, {1, 3, 4});
  EXPECT_EQ(t.byte_size(), 48u);
  EXPECT_EQ(t.num_elements(), 12);
  EXPECT_TRUE(t.Reshape({12}).ok());
  EXPECT_FALSE(t.Reshape({5}).ok());
  t.Fill(0);
  Tensor c = t.Clone();
  EXPECT_EQ(c.Describe(), "float32[12]");
  EXPECT_EQ(c.data<float>()[11], 0.0f);
  EXPECT_FALSE(ParseDType("complex").ok());
}

}  // namespace
}  // namespace accel
