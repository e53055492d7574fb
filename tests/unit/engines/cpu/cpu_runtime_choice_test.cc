// The rule that picks the cpu device's runtime for a model (cpu_runtime_choice.h), with injected timings.
#include "engines/cpu/cpu_runtime_choice.h"

#include <gtest/gtest.h>

namespace accel {
namespace {

CpuRuntimeInputs BothCanRun() {
  CpuRuntimeInputs in;
  in.requested = CpuRuntime::kAuto;
  in.requested_by = "--cpu-runtime";
  in.has_onnx = true;
  in.has_torchscript = true;
  return in;
}

TEST(CpuRuntimeChoice, AutoMeasuresWhenBothCanRunAndPicksTheFaster) {
  CpuRuntimeInputs in = BothCanRun();
  EXPECT_TRUE(NeedsMeasurement(in));
  in.opencv_ms = 14.1;
  in.libtorch_ms = 19.8;
  EXPECT_FALSE(NeedsMeasurement(in));
  CpuRuntimeDecision d = ChooseCpuRuntime(in);
  ASSERT_TRUE(d.status.ok());
  EXPECT_EQ(d.runtime, CpuRuntime::kOpencv);
  EXPECT_EQ(d.reason, "auto: measured 14.1 ms vs libtorch 19.8 ms at load");

  in.opencv_ms = 34.0;
  in.libtorch_ms = 20.25;
  d = ChooseCpuRuntime(in);
  ASSERT_TRUE(d.status.ok());
  EXPECT_EQ(d.runtime, CpuRuntime::kLibtorch);
  EXPECT_EQ(d.reason, "auto: measured 20.2 ms vs opencv 34.0 ms at load");
}

TEST(CpuRuntimeChoice, TieGoesToOpencv) {
  CpuRuntimeInputs in = BothCanRun();
  in.opencv_ms = 10;
  in.libtorch_ms = 10;
  EXPECT_EQ(ChooseCpuRuntime(in).runtime, CpuRuntime::kOpencv);
}

TEST(CpuRuntimeChoice, AutoFallsBackToOpencvWithTheReason) {
  CpuRuntimeInputs in = BothCanRun();
  in.libtorch_unavailable = "libtorch plugin not installed";
  EXPECT_FALSE(NeedsMeasurement(in));
  CpuRuntimeDecision d = ChooseCpuRuntime(in);
  ASSERT_TRUE(d.status.ok());
  EXPECT_EQ(d.runtime, CpuRuntime::kOpencv);
  EXPECT_EQ(d.reason, "auto: libtorch plugin not installed");

  in = BothCanRun();
  in.has_torchscript = false;
  EXPECT_FALSE(NeedsMeasurement(in));
  d = ChooseCpuRuntime(in);
  EXPECT_EQ(d.runtime, CpuRuntime::kOpencv);
  EXPECT_EQ(d.reason, "auto: the model has no TorchScript artifact");
}

TEST(CpuRuntimeChoice, ExplicitChoiceIsNotMeasured) {
  CpuRuntimeInputs in = BothCanRun();
  in.requested = CpuRuntime::kOpencv;
  in.requested_by = "model.yaml";
  EXPECT_FALSE(NeedsMeasurement(in));
  CpuRuntimeDecision d = ChooseCpuRuntime(in);
  EXPECT_EQ(d.runtime, CpuRuntime::kOpencv);
  EXPECT_EQ(d.reason, "requested (model.yaml)");

  in.requested = CpuRuntime::kLibtorch;
  EXPECT_FALSE(NeedsMeasurement(in));
  d = ChooseCpuRuntime(in);
  ASSERT_TRUE(d.status.ok());
  EXPECT_EQ(d.runtime, CpuRuntime::kLibtorch);
  // Timings, if any, do not override an explicit choice.
  in.opencv_ms = 1;
  in.libtorch_ms = 100;
  EXPECT_EQ(ChooseCpuRuntime(in).runtime, CpuRuntime::kLibtorch);
}

TEST(CpuRuntimeChoice, ForcedLibtorchWithoutThePluginIsAnError) {
  CpuRuntimeInputs in = BothCanRun();
  in.requested = CpuRuntime::kLibtorch;
  in.libtorch_unavailable = "libtorch plugin not installed";
  CpuRuntimeDecision d = ChooseCpuRuntime(in);
  EXPECT_EQ(d.status.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(d.status.message().find("libtorch plugin not installed"), std::string::npos);
}

TEST(CpuRuntimeChoice, ForcedLibtorchWithoutTorchScriptRunsOpencv) {
  CpuRuntimeInputs in = BothCanRun();
  in.requested = CpuRuntime::kLibtorch;
  in.has_torchscript = false;
  CpuRuntimeDecision d = ChooseCpuRuntime(in);
  ASSERT_TRUE(d.status.ok());
  EXPECT_EQ(d.runtime, CpuRuntime::kOpencv);
  EXPECT_NE(d.reason.find("no TorchScript artifact"), std::string::npos);
}

TEST(CpuRuntimeChoice, OnlyTorchScript) {
  CpuRuntimeInputs in = BothCanRun();
  in.has_onnx = false;
  EXPECT_FALSE(NeedsMeasurement(in));
  EXPECT_EQ(ChooseCpuRuntime(in).runtime, CpuRuntime::kLibtorch);
  in.libtorch_unavailable = "libtorch plugin not installed";
  EXPECT_FALSE(ChooseCpuRuntime(in).status.ok());
}

TEST(CpuRuntimeChoice, Parse) {
  EXPECT_EQ(*ParseCpuRuntime("libtorch", "cpu.runtime"), CpuRuntime::kLibtorch);
  EXPECT_EQ(*ParseCpuRuntime("opencv", "cpu.runtime"), CpuRuntime::kOpencv);
  EXPECT_EQ(*ParseCpuRuntime("auto", "cpu.runtime"), CpuRuntime::kAuto);
  auto bad = ParseCpuRuntime("onnxruntime", "cpu.runtime");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("cpu.runtime"), std::string::npos);
}

}  // namespace
}  // namespace accel
