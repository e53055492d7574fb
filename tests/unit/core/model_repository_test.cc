#include "core/model_repository.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace accel {
namespace {

namespace fs = std::filesystem;

// A repository in a fresh temporary folder, removed afterwards.
class RepositoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "accel_repo_XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    root_ = pattern;
  }
  void TearDown() override { fs::remove_all(root_); }

  // models/<name>/model.yaml of a yolov5-layout model with the given artifacts section.
  fs::path AddModel(const std::string& name, const std::string& artifacts) {
    fs::create_directories(root_ / name);
    std::ofstream(root_ / name / "model.yaml")
        << "name: " << name << "\ninput: {width: 64, height: 64}\noutputs: [{shape: [100, 85]}]\n"
        << "decoder: {family: yolov5}\nartifacts:\n"
        << artifacts;
    return root_ / name;
  }
  static void Touch(const fs::path& path) { std::ofstream(path) << "onnx"; }

  StatusOr<ModelConfig> Load(const std::string& name) {
    return LoadRepositoryModel(root_ / name / "model.yaml");
  }

  // The error of loading `name`: it must name the model.yaml and contain `part`.
  void ExpectError(const std::string& name, const std::string& part) {
    auto loaded = Load(name);
    ASSERT_FALSE(loaded.ok()) << name;
    const std::string& m = loaded.status().message();
    EXPECT_NE(m.find((root_ / name / "model.yaml").string()), std::string::npos) << m;
    EXPECT_NE(m.find("model '" + name + "'"), std::string::npos) << m;
    EXPECT_NE(m.find(part), std::string::npos) << m;
  }

  fs::path root_;
};

TEST_F(RepositoryTest, PresentArtifactLoads) {
  Touch(AddModel("ok", "  cpu: {format: onnx, path: m.onnx}\n") / "m.onnx");
  auto loaded = Load("ok");
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  ASSERT_EQ(loaded->artifacts.size(), 1u);
  EXPECT_TRUE(loaded->warnings.empty());
}

TEST_F(RepositoryTest, MissingArtifactIsAnErrorNamingTheFile) {
  AddModel("gone", "  cpu: {format: onnx, path: absent.onnx}\n");
  ExpectError("gone", "'absent.onnx'");
  ExpectError("gone", "does not exist");
}

TEST_F(RepositoryTest, MissingSecondArtifactIsDroppedWithAWarning) {
  const fs::path dir =
      AddModel("half", "  cpu: {format: onnx, path: m.onnx}\n  nvidia: {format: torchscript, path: m.pt}\n");
  Touch(dir / "m.onnx");
  auto loaded = Load("half");
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  ASSERT_EQ(loaded->artifacts.size(), 1u);
  EXPECT_EQ(loaded->artifacts[0].engine_kind, "cpu");
  ASSERT_EQ(loaded->warnings.size(), 1u);
  EXPECT_NE(loaded->warnings[0].find("'m.pt'"), std::string::npos) << loaded->warnings[0];
}

TEST_F(RepositoryTest, PathsOutsideTheModelFolder) {
  Touch(root_ / "outside.onnx");
  AddModel("up", "  cpu: {format: onnx, path: ../outside.onnx}\n");
  ExpectError("up", "'..'");
  AddModel("nested_up", "  cpu: {format: onnx, path: sub/../../outside.onnx}\n");
  ExpectError("nested_up", "'..'");
  AddModel("absolute", "  cpu: {format: onnx, path: " + (root_ / "outside.onnx").string() + "}\n");
  ExpectError("absolute", "absolute");
  AddModel("labels_up", "  cpu: {format: onnx, path: m.onnx}\nlabels: ../labels.txt\n");
  ExpectError("labels_up", "'..'");
}

TEST_F(RepositoryTest, SymbolicLinks) {
  fs::create_directories(root_ / "elsewhere");
  Touch(root_ / "elsewhere" / "m.onnx");
  // A folder link that leads out of the model's folder is refused.
  const fs::path escape = AddModel("escape", "  cpu: {format: onnx, path: weights/m.onnx}\n");
  fs::create_directory_symlink(root_ / "elsewhere", escape / "weights");
  ExpectError("escape", "symbolic link");
  // A folder link that stays inside is followed.
  const fs::path inside = AddModel("inside", "  cpu: {format: onnx, path: alias/m.onnx}\n");
  fs::create_directories(inside / "real");
  Touch(inside / "real" / "m.onnx");
  fs::create_directory_symlink(inside / "real", inside / "alias");
  EXPECT_TRUE(Load("inside").ok()) << Load("inside").status().ToString();
  // The artifact file itself may be a link to a regular file elsewhere (how scripts/setup installs
  // weights)...
  const fs::path linked = AddModel("linked", "  cpu: {format: onnx, path: m.onnx}\n");
  fs::create_symlink(root_ / "elsewhere" / "m.onnx", linked / "m.onnx");
  EXPECT_TRUE(Load("linked").ok()) << Load("linked").status().ToString();
  // ...but not to something else, nor dangling.
  const fs::path to_dir = AddModel("to_dir", "  cpu: {format: onnx, path: m.onnx}\n");
  fs::create_directory_symlink(root_ / "elsewhere", to_dir / "m.onnx");
  ExpectError("to_dir", "not a regular file");
  const fs::path dangling = AddModel("dangling", "  cpu: {format: onnx, path: m.onnx}\n");
  fs::create_symlink(root_ / "elsewhere" / "nothing.onnx", dangling / "m.onnx");
  ExpectError("dangling", "does not exist");
}

TEST_F(RepositoryTest, OneBadModelLeavesTheOthers) {
  Touch(AddModel("a-good", "  cpu: {format: onnx, path: m.onnx}\n") / "m.onnx");
  AddModel("b-missing", "  cpu: {format: onnx, path: m.onnx}\n");
  fs::create_directories(root_ / "c-family");
  std::ofstream(root_ / "c-family" / "model.yaml")
      << "input: {width: 64, height: 64}\noutputs: [{shape: [100, 85]}]\ndecoder: {family: yolov99}\n";
  fs::create_directories(root_ / "d-rank");
  std::ofstream(root_ / "d-rank" / "model.yaml")
      << "input: {width: 64, height: 64}\noutputs: [{shape: [8500]}]\ndecoder: {family: yolov5}\n";
  fs::create_directories(root_ / "e-labels");
  std::ofstream(root_ / "e-labels" / "model.yaml") << "input: {width: 64, height: 64}\noutputs: [{shape: "
                                                      "[100, 8]}]\ndecoder: {family: yolov5}\nlabels: [a]\n";
  auto entries = ScanModelRepository(root_);
  ASSERT_TRUE(entries.ok());
  ASSERT_EQ(entries->size(), 5u);
  EXPECT_TRUE((*entries)[0].config.ok()) << (*entries)[0].config.status().ToString();
  const std::vector<std::string> wanted = {"'m.onnx'", "unknown decoder family 'yolov99'", "rank 1",
                                           "labels has only 1"};
  for (size_t i = 1; i < entries->size(); ++i) {
    const auto& e = (*entries)[i];
    ASSERT_FALSE(e.config.ok()) << e.name;
    EXPECT_NE(e.config.status().message().find(e.name), std::string::npos) << e.config.status().message();
    EXPECT_NE(e.config.status().message().find(wanted[i - 1]), std::string::npos)
        << e.config.status().message();
  }
}

}  // namespace
}  // namespace accel
