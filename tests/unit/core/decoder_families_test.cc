#include "core/decoder_families.h"

#include <gtest/gtest.h>

#include <string>

#include "core/model_config.h"

namespace accel {
namespace {

// model.yaml text for a 64x64 model with the given decoder and outputs sections.
std::string Yaml(const std::string& decoder, const std::string& outputs, const std::string& extra = "") {
  return "name: m\ninput: {width: 64, height: 64}\ndecoder: " + decoder + "\noutputs: " + outputs + "\n" +
         extra;
}

// The error of parsing, which must exist and name the model.
std::string ErrorOf(const std::string& yaml) {
  auto parsed = ParseModelConfig(yaml, "/tmp/m");
  EXPECT_FALSE(parsed.ok()) << yaml;
  if (parsed.ok()) return "";
  EXPECT_EQ(parsed.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(parsed.status().message().find("model 'm'"), std::string::npos) << parsed.status().message();
  return parsed.status().message();
}

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(DecoderContract, EveryFamilyWithItsLayoutParses) {
  const std::vector<std::pair<std::string, std::string>> good = {
      {"{family: yolox, strides: [8, 16, 32]}", "[{shape: [84, 85]}]"},  // 8x8 + 4x4 + 2x2 anchors
      {"{family: yolov5}", "[{shape: [25200, 85]}]"},
      {"{family: yolo-generic}", "[{shape: [84, 8400]}]"},
      {"{family: yolo-generic}", "[{shape: [8400, 84]}]"},
      {"{family: yolo-generic, layout: channels_first}", "[{shape: [-1, -1]}]"},
      {"{family: yolo-nas}", "[{shape: [8400, 4]}, {shape: [8400, 80]}]"},
      {"{family: yolo-nas}", "[{shape: [-1, 7]}]"},
      {"{family: yolo-nas}", "[{shape: [1]}, {shape: [100, 4]}, {shape: [100]}, {shape: [100]}]"},
      {"{family: ssd}", "[{shape: [10, 4]}, {shape: [10]}, {shape: [10]}, {shape: [1]}]"},
      {"{family: ssd}", "[{shape: [10, 4]}, {shape: [10]}, {shape: [10]}]"},
      {"{family: ssd}", "[{shape: [1, 100, 7]}]"},
      {"{family: detr}", "[{shape: [300, 4]}, {shape: [300, 80]}]"},
      {"{family: hailo_nms_by_class, max_boxes_per_class: 100}", "[{shape: [40080]}]"},
      {"{family: raw}", "[{shape: [3]}, {shape: [1, 2, 3, 4, 5]}]"},
  };
  for (const auto& [decoder, outputs] : good) {
    auto parsed = ParseModelConfig(Yaml(decoder, outputs), "/tmp/m");
    EXPECT_TRUE(parsed.ok()) << decoder << " " << outputs << ": " << parsed.status().ToString();
  }
  auto classifier = ParseModelConfig(
      Yaml("{family: classification, activation: softmax}", "[{shape: [3]}]", "labels: [a, b, c]\n"),
      "/tmp/m");
  ASSERT_TRUE(classifier.ok()) << classifier.status().ToString();
  EXPECT_EQ(classifier->task, "classification");
  EXPECT_EQ(*ActivationOf(*classifier), Activation::kSoftmax);
}

TEST(DecoderContract, UnknownFamilyIsNamed) {
  const std::string e = ErrorOf(Yaml("{family: yolov99}", "[{shape: [10, 85]}]"));
  EXPECT_TRUE(Contains(e, "unknown decoder family 'yolov99'")) << e;
  EXPECT_TRUE(Contains(e, "yolo-generic")) << e;  // lists the known ones
}

TEST(DecoderContract, OutputCountAndRank) {
  EXPECT_TRUE(Contains(ErrorOf(Yaml("{family: yolov5}", "[{shape: [25200]}]")), "rank 1"));
  EXPECT_TRUE(
      Contains(ErrorOf(Yaml("{family: yolov5}", "[{shape: [25200, 85]}, {shape: [1]}]")), "2 output(s)"));
  EXPECT_TRUE(Contains(ErrorOf(Yaml("{family: detr}", "[{shape: [300, 4]}]")), "1 output(s)"));
  EXPECT_TRUE(Contains(ErrorOf(Yaml("{family: classification}", "[{shape: [1, 1000]}]")), "rank 2"));
  EXPECT_TRUE(
      Contains(ErrorOf(Yaml("{family: yolo-nas}", "[{shape: [8400, 4]}, {shape: [8400, 80]}, {shape: [1]}]")),
               "3 output(s)"));
  EXPECT_TRUE(Contains(ErrorOf(Yaml("{family: ssd}", "[{shape: [10, 4]}, {shape: [10]}]")), "2 output(s)"));
}

TEST(DecoderContract, FixedSizes) {
  // YOLOX: the anchors of strides 8, 16, 32 on 64x64 are 84.
  EXPECT_TRUE(Contains(ErrorOf(Yaml("{family: yolox}", "[{shape: [3549, 85]}]")), "84 is expected"));
  EXPECT_TRUE(Contains(ErrorOf(Yaml("{family: yolov5}", "[{shape: [100, 5]}]")), "at least 6"));
  EXPECT_TRUE(Contains(ErrorOf(Yaml("{family: yolo-nas}", "[{shape: [8400, 5]}, {shape: [8400, 80]}]")),
                       "4 is expected"));
  EXPECT_TRUE(Contains(ErrorOf(Yaml("{family: yolo-nas}", "[{shape: [8400, 4]}, {shape: [8000, 80]}]")),
                       "disagree on the number of boxes"));
  EXPECT_TRUE(Contains(ErrorOf(Yaml("{family: ssd}", "[{shape: [1, 100, 6]}]")), "7 is expected"));
  EXPECT_TRUE(
      Contains(ErrorOf(Yaml("{family: detr}", "[{shape: [300, 2]}, {shape: [300, 80]}]")), "4 is expected"));
  const std::string square = ErrorOf(Yaml("{family: yolo-generic}", "[{shape: [84, 84]}]"));
  EXPECT_TRUE(Contains(square, "decoder.layout")) << square;
}

TEST(DecoderContract, LabelsMustCoverTheClasses) {
  const std::string e = ErrorOf(Yaml("{family: yolov5}", "[{shape: [100, 9]}]", "labels: [a, b, c]\n"));
  EXPECT_TRUE(Contains(e, "4 classes")) << e;
  EXPECT_TRUE(Contains(e, "only 3")) << e;
  EXPECT_TRUE(
      ParseModelConfig(Yaml("{family: yolov5}", "[{shape: [100, 8]}]", "labels: [a, b, c]\n"), "/tmp/m")
          .ok());
  // 91 logits, background first: with class_id_offset -1 the 80 COCO labels suffice; without, they do not.
  EXPECT_TRUE(
      ParseModelConfig(Yaml("{family: detr, class_id_offset: -1}", "[{shape: [300, 4]}, {shape: [300, 81]}]"),
                       "/tmp/m")
          .ok());
  ErrorOf(Yaml("{family: detr}", "[{shape: [300, 4]}, {shape: [300, 91]}]"));
  EXPECT_TRUE(
      ParseModelConfig(Yaml("{family: detr}", "[{shape: [300, 4]}, {shape: [300, 91]}]", "labels: coco91\n"),
                       "/tmp/m")
          .ok());
  // A classifier without labels falls back to the 80 COCO names: too few for 1000 classes.
  EXPECT_TRUE(Contains(ErrorOf(Yaml("{family: classification}", "[{shape: [1000]}]")), "1000 classes"));
}

TEST(DecoderContract, OptionsAndTask) {
  EXPECT_TRUE(
      Contains(ErrorOf(Yaml("{family: detr, activation: relu}", "[{shape: [300, 4]}, {shape: [300, 80]}]")),
               "decoder.activation"));
  EXPECT_TRUE(Contains(ErrorOf(Yaml("{family: yolo-generic, layout: nchw}", "[{shape: [84, 8400]}]")),
                       "decoder.layout"));
  EXPECT_TRUE(Contains(ErrorOf(Yaml("{family: yolov5, nms_iou: 0}", "[{shape: [100, 85]}]")), "nms_iou"));
  EXPECT_TRUE(Contains(
      ErrorOf(Yaml("{family: classification, top_k: 0}", "[{shape: [3]}]", "labels: [a, b, c]\n")), "top_k"));
  EXPECT_TRUE(Contains(
      ErrorOf(Yaml("{family: classification}", "[{shape: [3]}]", "task: detection\nlabels: [a, b, c]\n")),
      "task"));
  EXPECT_TRUE(
      Contains(ErrorOf(Yaml("{family: yolov5}", "[{shape: [100, 85]}]", "task: classification\n")), "task"));
}

TEST(DecoderContract, ChannelLayoutAndForms) {
  ModelConfig m;
  m.decoder.family = "yolo-generic";
  m.outputs.push_back({"out", {84, 8400}, DType::kFloat32});
  EXPECT_EQ(*ResolveChannelLayout(m), ChannelLayout::kChannelsFirst);
  m.outputs[0].shape = {8400, 84};
  EXPECT_EQ(*ResolveChannelLayout(m), ChannelLayout::kChannelsLast);
  m.outputs[0].shape = {-1, 84};
  EXPECT_EQ(*ResolveChannelLayout(m), ChannelLayout::kChannelsLast);
  m.outputs[0].shape = {84, -1};
  EXPECT_EQ(*ResolveChannelLayout(m), ChannelLayout::kChannelsFirst);
  m.decoder.layout = "channels_last";
  EXPECT_EQ(*ResolveChannelLayout(m), ChannelLayout::kChannelsLast);
  EXPECT_EQ(DeclaredClassCount(m), -1);  // the channel dimension is dynamic in that layout
  m.decoder.layout = "auto";
  EXPECT_EQ(DeclaredClassCount(m), 80);
}

TEST(CocoLabels, Coco91IsCocoByCategoryId) {
  const auto& labels = Coco91Labels();
  ASSERT_EQ(labels.size(), 91u);
  EXPECT_EQ(labels[0], "background");
  EXPECT_EQ(labels[1], "person");
  EXPECT_EQ(labels[12], "street sign");
  EXPECT_EQ(labels[13], "stop sign");
  EXPECT_EQ(labels[44], "bottle");
  EXPECT_EQ(labels[90], "toothbrush");
  // Without the background and the ten unused ids it is the 80-class list, in order.
  std::vector<std::string> used;
  for (int id : {12, 26, 29, 30, 45, 66, 68, 69, 71, 83}) EXPECT_NE(labels[id], "") << id;
  for (size_t id = 1; id < labels.size(); ++id) {
    if (id == 12 || id == 26 || id == 29 || id == 30 || id == 45 || id == 66 || id == 68 || id == 69 ||
        id == 71 || id == 83)
      continue;
    used.push_back(labels[id]);
  }
  EXPECT_EQ(used, CocoLabels());
  auto parsed = ParseModelConfig(Yaml("{family: raw}", "[{shape: [1]}]", "labels: coco91\n"), "/tmp/m");
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->labels.size(), 91u);
}

}  // namespace
}  // namespace accel
