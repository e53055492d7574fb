// model.yaml -> HailoRT plan, and the checks of what a HEF reports against model.yaml.
#include <gtest/gtest.h>

#include "core/model_config.h"
#include "engines/hailo/hailo_model_check.h"
#include "vision/hailo_nms.h"

namespace accel {
namespace {

ModelConfig ExampleModel() {
  auto m = LoadModelConfig(std::string(ACCEL_SOURCE_DIR) + "/models/examples/yolov8n-hailo/model.yaml");
  EXPECT_TRUE(m.ok()) << m.status().ToString();
  return m.ok() ? std::move(m).value() : ModelConfig{};
}

HefStreamDesc Input640() {
  HefStreamDesc in;
  in.name = "yolov8n/input_layer1";
  in.height = 640;
  in.width = 640;
  in.features = 3;
  in.format_type = kHailoFormatTypeUint8;
  in.format_order = kHailoFormatOrderNhwc;
  in.frame_size = 640 * 640 * 3;
  return in;
}

HefStreamDesc NmsOutput(uint32_t classes, uint32_t per_class, size_t frame) {
  HefStreamDesc out;
  out.name = "yolov8n/yolov8_nms_postprocess";
  out.is_nms = true;
  out.nms_classes = classes;
  out.nms_max_boxes_per_class = per_class;
  out.nms_max_boxes_total = classes * per_class;
  out.frame_size = frame;
  return out;
}

TEST(HailoModelYaml, ExampleDescribesAZooModel) {
  const ModelConfig m = ExampleModel();
  EXPECT_EQ(m.name, "yolov8n-hailo");
  EXPECT_EQ(m.input.layout, TensorLayout::kNHWC);
  EXPECT_EQ(m.input.dtype, DType::kUInt8);
  EXPECT_EQ(m.input.letterbox, LetterboxMode::kCenter);
  EXPECT_EQ(m.decoder.family, "hailo_nms_by_class");
  EXPECT_EQ(m.decoder.class_id_offset, 0);
  ASSERT_EQ(m.outputs.size(), 1u);
  // The declared output shape is the BY_CLASS frame for 80 classes x 100 boxes.
  ASSERT_EQ(m.outputs[0].shape.size(), 1u);
  EXPECT_EQ(static_cast<size_t>(m.outputs[0].shape[0]) * sizeof(float),
            HailoNmsByClassBytes(80, m.decoder.max_boxes_per_class));
  EXPECT_EQ(m.labels.size(), 80u);
  ASSERT_NE(m.ArtifactFor("hailo"), nullptr);
  EXPECT_EQ(m.ArtifactFor("hailo")->format, "hef");
}

TEST(HailoModelYaml, ClassIdOffsetIsRead) {
  auto m = ParseModelConfig(
      "name: ssd\ninput: {width: 300, height: 300, layout: NHWC, dtype: uint8}\n"
      "outputs: [{name: nms, shape: [-1]}]\n"
      "decoder: {family: hailo_nms_by_score, class_id_offset: -1}\n"
      "artifacts: {hailo: {format: hef, path: ssd.hef}}\n",
      "/tmp");
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->decoder.class_id_offset, -1);
}

TEST(HailoModelPlan, FromTheExample) {
  const ModelConfig m = ExampleModel();
  auto plan = PlanHailoModel(m);
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  EXPECT_EQ(plan->input_format_type, kHailoFormatTypeUint8);
  EXPECT_EQ(plan->input_format_order, kHailoFormatOrderNhwc);
  EXPECT_EQ(plan->nms_order, HailoNmsOrder::kByClass);
  EXPECT_EQ(plan->output_format_type, kHailoFormatTypeFloat32);
  EXPECT_EQ(plan->output_format_order, kHailoFormatOrderNmsByClass);
  EXPECT_FLOAT_EQ(plan->nms_score_threshold, 0.25f);
  EXPECT_FLOAT_EQ(plan->nms_iou_threshold, 0.45f);
  EXPECT_EQ(plan->max_boxes_per_class, 100);
  EXPECT_NE(plan->hef_path.find("yolov8n.hef"), std::string::npos);
}

TEST(HailoModelPlan, RejectsModelsTheEngineCannotRun) {
  ModelConfig m = ExampleModel();
  m.decoder.family = "yolox";
  EXPECT_FALSE(PlanHailoModel(m).ok());

  m = ExampleModel();
  m.artifacts.clear();
  EXPECT_FALSE(PlanHailoModel(m).ok());

  m = ExampleModel();
  m.artifacts[0].format = "onnx";
  EXPECT_FALSE(PlanHailoModel(m).ok());

  m = ExampleModel();
  m.input.scale = 1.0f / 255;  // uint8 input with normalisation: the HEF does that itself
  EXPECT_FALSE(PlanHailoModel(m).ok());

  m = ExampleModel();
  m.decoder.family = "hailo_nms_by_score";
  m.input.dtype = DType::kFloat32;
  m.input.layout = TensorLayout::kNCHW;
  auto plan = PlanHailoModel(m);
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->nms_order, HailoNmsOrder::kByScore);
  EXPECT_EQ(plan->output_format_order, kHailoFormatOrderNmsByScore);
  EXPECT_EQ(plan->input_format_type, kHailoFormatTypeFloat32);
  EXPECT_EQ(plan->input_format_order, kHailoFormatOrderNchw);
}

TEST(HailoModelCheck, InputShapeMustMatchModelYaml) {
  const ModelConfig m = ExampleModel();
  EXPECT_TRUE(CheckHefInputs(m, {Input640()}).ok());

  HefStreamDesc small = Input640();
  small.height = small.width = 416;
  small.frame_size = 416 * 416 * 3;
  Status s = CheckHefInputs(m, {small});
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("416x416x3"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("640x640x3"), std::string::npos) << s.message();

  HefStreamDesc wrong_frame = Input640();
  wrong_frame.frame_size = 640 * 640 * 3 * 4;  // float32 host format while model.yaml says uint8
  EXPECT_FALSE(CheckHefInputs(m, {wrong_frame}).ok());
  EXPECT_FALSE(CheckHefInputs(m, {}).ok());
  EXPECT_FALSE(CheckHefInputs(m, {Input640(), Input640()}).ok());
}

TEST(HailoModelCheck, OutputMustBeTheExpectedNmsLayout) {
  const ModelConfig m = ExampleModel();
  const HailoModelPlan plan = PlanHailoModel(m).value();
  auto ok = CheckHefOutputs(m, plan, {NmsOutput(80, 100, HailoNmsByClassBytes(80, 100))});
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_TRUE(ok->empty());

  // 90-class HEF with 80 labels: loads, with a warning.
  auto warned = CheckHefOutputs(m, plan, {NmsOutput(90, 100, HailoNmsByClassBytes(90, 100))});
  ASSERT_TRUE(warned.ok());
  EXPECT_NE(warned->find("90 classes"), std::string::npos) << *warned;

  EXPECT_FALSE(CheckHefOutputs(m, plan, {NmsOutput(80, 50, HailoNmsByClassBytes(80, 50))}).ok());
  EXPECT_FALSE(CheckHefOutputs(m, plan, {NmsOutput(80, 100, 1234)}).ok());
  HefStreamDesc raw = NmsOutput(80, 100, HailoNmsByClassBytes(80, 100));
  raw.is_nms = false;
  EXPECT_FALSE(CheckHefOutputs(m, plan, {raw}).ok());
  EXPECT_FALSE(CheckHefOutputs(m, plan, {}).ok());

  ModelConfig by_score = m;
  by_score.decoder.family = "hailo_nms_by_score";
  const HailoModelPlan score_plan = PlanHailoModel(by_score).value();
  HefStreamDesc out = NmsOutput(80, 100, 0);
  out.nms_max_boxes_total = 100;
  out.frame_size = HailoNmsByScoreBytes(100);
  EXPECT_TRUE(CheckHefOutputs(by_score, score_plan, {out}).ok());
}

TEST(HailoModelCheck, OutputTensorShapes) {
  EXPECT_EQ(HailoOutputDType(HailoNmsOrder::kByClass), DType::kFloat32);
  EXPECT_EQ(HailoOutputShape(HailoNmsOrder::kByClass, HailoNmsByClassBytes(80, 100)),
            (std::vector<int64_t>{1, 40080}));
  EXPECT_EQ(HailoOutputDType(HailoNmsOrder::kByScore), DType::kUInt8);
  EXPECT_EQ(HailoOutputShape(HailoNmsOrder::kByScore, 2202), (std::vector<int64_t>{1, 2202}));
}

}  // namespace
}  // namespace accel
