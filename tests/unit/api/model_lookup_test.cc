#include "api/model_lookup.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "scheduler/scheduler.h"

namespace accel {
namespace {

namespace fs = std::filesystem;

// Models in the repository that are not loaded (a scheduler without devices loads nothing): found by name,
// by name plus extension, by artifact file name; never by a near miss.
TEST(ModelLookupTest, FindsRepositoryModelsByNameOrArtifactFileName) {
  const fs::path repo = fs::temp_directory_path() / ("accel-lookup-test-" + std::to_string(::getpid()));
  fs::remove_all(repo);
  for (const char* name : {"yolox-nano", "yolov8n"}) {
    fs::create_directories(repo / name);
    std::ofstream(repo / name / "model.yaml")
        << "name: " << name << "\ninput: {width: 416, height: 416}\noutputs: [{name: o, shape: [3549, 85]}]\n"
        << "artifacts:\n  cpu: {format: onnx, path: "
        << (std::string(name) == "yolox-nano" ? "yolox_nano" : name)
        << ".onnx}\n  nvidia: {format: torchscript, path: weights/" << name << ".torchscript.pt}\n";
    // The repository reader drops a model whose artifact files are all missing: give it its files.
    fs::create_directories(repo / name / "weights");
    std::ofstream(repo / name /
                  ((std::string(name) == "yolox-nano" ? "yolox_nano" : name) + std::string(".onnx")));
    std::ofstream(repo / name / "weights" / (std::string(name) + ".torchscript.pt"));
  }
  // A model whose artifact file is missing could not be loaded: it is not available.
  fs::create_directories(repo / "ghost");
  std::ofstream(repo / "ghost" / "model.yaml")
      << "name: ghost\ninput: {width: 416, height: 416}\noutputs: [{name: o, shape: [3549, 85]}]\n"
      << "artifacts:\n  cpu: {format: onnx, path: ghost.onnx}\n";
  fs::create_directories(repo / "broken");
  std::ofstream(repo / "broken" / "model.yaml") << "input: [not, a, map\n";
  Scheduler scheduler(SchedulerOptions{});

  auto found = LookupModel(scheduler, repo, "yolox_nano.onnx");
  EXPECT_EQ(found.model, "yolox-nano");
  EXPECT_TRUE(found.available);
  EXPECT_FALSE(found.loaded);
  EXPECT_EQ(LookupModel(scheduler, repo, "yolox-nano").model, "yolox-nano");
  EXPECT_EQ(LookupModel(scheduler, repo, "yolox-nano.onnx").model, "yolox-nano");
  EXPECT_EQ(LookupModel(scheduler, repo, "yolov8n.torchscript.pt").model, "yolov8n");
  EXPECT_EQ(LookupModel(scheduler, repo, "yolov8n.onnx").model, "yolov8n");
  for (const char* miss : {"", "yolox_nano", "YOLOX_NANO.onnx", "weights/yolov8n.torchscript.pt", "broken",
                           "model.yaml", "yolov9-t.onnx", "ghost", "ghost.onnx"}) {
    auto none = LookupModel(scheduler, repo, miss);
    EXPECT_FALSE(none.available) << miss;
    EXPECT_EQ(none.model, "") << miss;
  }
  EXPECT_FALSE(LookupModel(scheduler, "", "yolox_nano.onnx").available);  // no repository
  scheduler.Shutdown();
  fs::remove_all(repo);
}

}  // namespace
}  // namespace accel
