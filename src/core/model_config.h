// ModelConfig: one logical model as described by models/<name>/model.yaml. A model has one input contract
// (what the vision pipeline produces) and one output contract (what its decoder reads), and one artifact
// per engine kind that can run it (onnx for cpu, torchscript/pt2 for nvidia, hef for hailo). All
// artifacts of one model must honour the same contract; that is what makes them interchangeable, so the
// scheduler may place any request on any device that has an artifact.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "core/status.h"
#include "core/tensor.h"

namespace accel {

enum class TensorLayout { kNCHW, kNHWC };
enum class ColorOrder { kRGB, kBGR };
// kTopLeft: scale to fit, image at (0,0), pad right/bottom (YOLOX). kCenter: scale to fit, centred
// (Ultralytics, Hailo zoo). kStretch: resize to the input size ignoring aspect ratio (no padding).
enum class LetterboxMode { kTopLeft, kCenter, kStretch };

struct InputSpec {
  std::string name = "images";
  int width = 0;
  int height = 0;
  int channels = 3;
  TensorLayout layout = TensorLayout::kNCHW;
  ColorOrder color = ColorOrder::kRGB;
  DType dtype = DType::kFloat32;
  // tensor value = (pixel - mean) * scale, per channel in tensor channel order. Defaults: identity.
  float scale = 1.0f;
  float mean = 0.0f;
  LetterboxMode letterbox = LetterboxMode::kTopLeft;
  int pad_value = 114;
};

struct OutputSpec {
  std::string name;
  // Shape of one item, without the batch dimension (e.g. [3549, 85]). -1 for variable.
  std::vector<int64_t> shape;
  DType dtype = DType::kFloat32;
};

// How a model's outputs become results. `family` names the decoder in src/vision; the families and the
// output contract of each are listed in core/decoder_families.h (and docs/models.md). "raw": no decoding
// (the model is only served through tensor APIs).
struct DecoderSpec {
  std::string family = "yolox";
  std::vector<int> strides = {8, 16, 32};
  float nms_iou = 0.45f;
  // Candidates below this are dropped before NMS; requests may ask for a higher threshold, not lower.
  float min_confidence = 0.05f;
  int max_detections = 100;
  // Hailo NMS layouts: boxes per class the HEF was compiled with.
  int max_boxes_per_class = 100;
  // Added to the class index a decoder reads before labels are looked up (Hailo NMS: a HEF whose class 0 is
  // background reports COCO "person" as 1; set -1 there so ids match `labels`). Default 0: no change.
  int class_id_offset = 0;
  // yolo-generic: where a candidate's 4 + C values lie: "channels_first" ([4+C, N], as Ultralytics
  // exports), "channels_last" ([N, 4+C]) or "auto" (told from the declared output shape).
  std::string layout = "auto";
  // detr, classification: how class values become confidences: "sigmoid", "softmax" or "none" (already
  // probabilities). Empty: the family's default (detr: sigmoid, classification: none).
  std::string activation;
  // detr with softmax: the last class column is DETR's "no object" class, which is never reported.
  bool no_object_class = false;
  // classification: most classes one result carries, best first.
  int top_k = 5;
};

struct Artifact {
  std::string engine_kind;     // "cpu", "nvidia", "hailo"
  std::string format;          // "onnx", "torchscript", "pt2", "hef"
  std::filesystem::path path;  // absolute after loading
};

struct ModelConfig {
  std::string name;
  std::string version = "1";
  // "detection" or "classification" (follows decoder.family unless model.yaml says; they must agree).
  std::string task = "detection";
  std::string description;
  std::filesystem::path directory;  // absolute path of models/<name>/
  InputSpec input;
  std::vector<OutputSpec> outputs;
  DecoderSpec decoder;
  std::vector<std::string> labels;  // index = class id
  int max_batch = 1;
  int max_queue_delay_us = 0;  // dynamic batching window
  std::vector<Artifact> artifacts;
  // model.yaml `cpu.runtime`: which runtime serves the model on the cpu device ("auto", "opencv",
  // "xnnpack", "libtorch"); empty: the cpu engine's option decides (engines/cpu/cpu_runtime_choice.h).
  std::string cpu_runtime;
  // Problems found when the repository was read that did not stop the model from loading (an artifact
  // whose file is missing while another artifact exists). The service logs them.
  std::vector<std::string> warnings;

  // The artifact for an engine kind, or nullptr.
  const Artifact* ArtifactFor(const std::string& engine_kind) const;
  // Name for a class id; "class_<id>" when out of range.
  std::string LabelFor(int class_id) const;
  // Per-item input shape as the tensor the vision pipeline produces, e.g. [3, 416, 416] (no batch).
  std::vector<int64_t> InputItemShape() const;
};

// Parses model.yaml text and checks it against its decoder family's contract (CheckDecoderContract).
// `directory` resolves relative artifact and label-file paths; paths must stay inside it (no "..", not
// absolute). Artifact files are not opened here: the repository reader checks them (model_repository.h).
StatusOr<ModelConfig> ParseModelConfig(const std::string& yaml_text, const std::filesystem::path& directory);
StatusOr<ModelConfig> LoadModelConfig(const std::filesystem::path& model_yaml);

// The 80 COCO class names in the usual order (person, bicycle, ..., toothbrush). model.yaml: `coco80`.
const std::vector<std::string>& CocoLabels();
// COCO by category id, as TF object-detection models and DETR-style heads number classes: 91 entries,
// index 0 "background", 1 "person" ... 90 "toothbrush", with the ten ids the 2017 release left unused
// named as in the COCO paper (12 "street sign", 26 "hat", ...). model.yaml: `coco91`.
const std::vector<std::string>& Coco91Labels();

}  // namespace accel
