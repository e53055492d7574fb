#include "core/model_config.h"

#include <yaml-cpp/yaml.h>

#include <fstream>
#include <sstream>

#include "core/decoder_families.h"

namespace accel {
namespace {

// yaml-cpp throws; this file is the only place that sees its exceptions, and turns them into Status.
template <typename T>
T Get(const YAML::Node& node, const char* key, const T& fallback) {
  if (!node || !node[key]) return fallback;
  return node[key].as<T>();
}

// A file named in model.yaml must lie in the model's folder: a relative path without "..". model.yaml may
// come from a less trusted place than the server's file system (a shared folder, an upload), and must not
// be able to point the server at any file it can read.
Status CheckInsideFolder(const std::string& what, const std::string& path) {
  const std::filesystem::path p(path);
  if (p.is_absolute())
    return InvalidArgument("model.yaml: " + what + " path '" + path +
                           "' is absolute; it must be a file in the model's folder (a relative path)");
  for (const auto& part : p)
    if (part == "..")
      return InvalidArgument("model.yaml: " + what + " path '" + path +
                             "' leaves the model's folder ('..'); it must be a file in that folder");
  return Status::Ok();
}

StatusOr<std::vector<std::string>> LoadLabels(const YAML::Node& node, const std::filesystem::path& dir) {
  if (!node) return CocoLabels();
  if (node.IsSequence()) return node.as<std::vector<std::string>>();
  const auto text = node.as<std::string>();
  if (text == "coco80" || text == "coco") return CocoLabels();
  if (text == "coco91") return Coco91Labels();
  ACCEL_RETURN_IF_ERROR(CheckInsideFolder("labels", text));
  std::ifstream in(dir / text);
  if (!in) return NotFound("labels file '" + (dir / text).string() + "' not found");
  std::vector<std::string> labels;
  for (std::string line; std::getline(in, line);) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    labels.push_back(line);
  }
  while (!labels.empty() && labels.back().empty()) labels.pop_back();
  return labels;
}

StatusOr<ModelConfig> Parse(const YAML::Node& root, const std::filesystem::path& directory) {
  if (!root.IsMap()) return InvalidArgument("model.yaml must be a mapping");
  ModelConfig m;
  m.directory = std::filesystem::absolute(directory);
  m.name = Get<std::string>(root, "name", directory.filename().string());
  m.version = Get<std::string>(root, "version", "1");
  m.description = Get<std::string>(root, "description", "");

  const auto in = root["input"];
  if (!in) return InvalidArgument("model.yaml: missing 'input'");
  m.input.name = Get<std::string>(in, "name", "images");
  m.input.width = Get<int>(in, "width", 0);
  m.input.height = Get<int>(in, "height", 0);
  m.input.channels = Get<int>(in, "channels", 3);
  if (m.input.width <= 0 || m.input.height <= 0 || m.input.width > 8192 || m.input.height > 8192)
    return InvalidArgument("model.yaml: input width/height must be in 1..8192");
  if (m.input.channels != 3) return InvalidArgument("model.yaml: only 3-channel inputs are supported");
  const auto layout = Get<std::string>(in, "layout", "NCHW");
  if (layout == "NCHW")
    m.input.layout = TensorLayout::kNCHW;
  else if (layout == "NHWC")
    m.input.layout = TensorLayout::kNHWC;
  else
    return InvalidArgument("model.yaml: input.layout must be NCHW or NHWC");
  const auto color = Get<std::string>(in, "color", "RGB");
  if (color == "RGB")
    m.input.color = ColorOrder::kRGB;
  else if (color == "BGR")
    m.input.color = ColorOrder::kBGR;
  else
    return InvalidArgument("model.yaml: input.color must be RGB or BGR");
  ACCEL_ASSIGN_OR_RETURN(m.input.dtype, ParseDType(Get<std::string>(in, "dtype", "float32")));
  if (m.input.dtype != DType::kFloat32 && m.input.dtype != DType::kUInt8)
    return InvalidArgument("model.yaml: input.dtype must be float32 or uint8");
  m.input.scale = Get<float>(in, "scale", 1.0f);
  m.input.mean = Get<float>(in, "mean", 0.0f);
  const auto letterbox = Get<std::string>(in, "letterbox", "top_left");
  if (letterbox == "top_left")
    m.input.letterbox = LetterboxMode::kTopLeft;
  else if (letterbox == "center")
    m.input.letterbox = LetterboxMode::kCenter;
  else if (letterbox == "stretch")
    m.input.letterbox = LetterboxMode::kStretch;
  else
    return InvalidArgument("model.yaml: input.letterbox must be top_left, center or stretch");
  m.input.pad_value = Get<int>(in, "pad_value", 114);

  if (const auto outs = root["outputs"]) {
    for (const auto& o : outs) {
      OutputSpec spec;
      spec.name = Get<std::string>(o, "name", "output");
      spec.shape = Get<std::vector<int64_t>>(o, "shape", {});
      ACCEL_ASSIGN_OR_RETURN(spec.dtype, ParseDType(Get<std::string>(o, "dtype", "float32")));
      m.outputs.push_back(std::move(spec));
    }
  }
  if (m.outputs.empty()) return InvalidArgument("model.yaml: at least one entry in 'outputs' is required");

  if (const auto d = root["decoder"]) {
    m.decoder.family = Get<std::string>(d, "family", m.decoder.family);
    m.decoder.strides = Get<std::vector<int>>(d, "strides", m.decoder.strides);
    m.decoder.nms_iou = Get<float>(d, "nms_iou", m.decoder.nms_iou);
    m.decoder.min_confidence = Get<float>(d, "min_confidence", m.decoder.min_confidence);
    m.decoder.max_detections = Get<int>(d, "max_detections", m.decoder.max_detections);
    m.decoder.max_boxes_per_class = Get<int>(d, "max_boxes_per_class", m.decoder.max_boxes_per_class);
    m.decoder.class_id_offset = Get<int>(d, "class_id_offset", m.decoder.class_id_offset);
    m.decoder.layout = Get<std::string>(d, "layout", m.decoder.layout);
    m.decoder.activation = Get<std::string>(d, "activation", m.decoder.activation);
    m.decoder.no_object_class = Get<bool>(d, "no_object_class", m.decoder.no_object_class);
    m.decoder.top_k = Get<int>(d, "top_k", m.decoder.top_k);
  }
  m.task = Get<std::string>(root, "task",
                            m.decoder.family == kClassificationFamily ? "classification" : "detection");
  ACCEL_ASSIGN_OR_RETURN(m.labels, LoadLabels(root["labels"], m.directory));

  m.max_batch = Get<int>(root, "max_batch", 1);
  if (m.max_batch < 1 || m.max_batch > 1024)
    return InvalidArgument("model.yaml: max_batch must be in 1..1024");
  m.max_queue_delay_us = Get<int>(root, "max_queue_delay_us", 0);
  if (m.max_queue_delay_us < 0) return InvalidArgument("model.yaml: max_queue_delay_us must be >= 0");

  if (const auto arts = root["artifacts"]) {
    if (!arts.IsMap()) return InvalidArgument("model.yaml: 'artifacts' must map engine kinds to artifacts");
    for (const auto& kv : arts) {
      Artifact a;
      a.engine_kind = kv.first.as<std::string>();
      a.format = Get<std::string>(kv.second, "format", "");
      const auto path = Get<std::string>(kv.second, "path", "");
      if (a.format.empty() || path.empty())
        return InvalidArgument("model.yaml: artifact '" + a.engine_kind + "' needs 'format' and 'path'");
      ACCEL_RETURN_IF_ERROR(CheckInsideFolder("artifact '" + a.engine_kind + "'", path));
      a.path = m.directory / path;
      m.artifacts.push_back(std::move(a));
    }
  }
  if (const auto cpu = root["cpu"]) {
    if (!cpu.IsMap())
      return InvalidArgument("model.yaml: 'cpu' must be a map (runtime: auto|opencv|libtorch)");
    m.cpu_runtime = Get<std::string>(cpu, "runtime", "");
    if (!m.cpu_runtime.empty() && m.cpu_runtime != "auto" && m.cpu_runtime != "opencv" &&
        m.cpu_runtime != "libtorch" && m.cpu_runtime != "xnnpack")
      return InvalidArgument("model.yaml: cpu.runtime must be auto, opencv, xnnpack or libtorch, got '" +
                             m.cpu_runtime + "'");
  }
  ACCEL_RETURN_IF_ERROR(CheckDecoderContract(m).WithContext("model.yaml"));
  return m;
}

}  // namespace

const Artifact* ModelConfig::ArtifactFor(const std::string& engine_kind) const {
  for (const auto& a : artifacts)
    if (a.engine_kind == engine_kind) return &a;
  return nullptr;
}

std::string ModelConfig::LabelFor(int class_id) const {
  if (class_id >= 0 && static_cast<size_t>(class_id) < labels.size()) return labels[class_id];
  return "class_" + std::to_string(class_id);
}

std::vector<int64_t> ModelConfig::InputItemShape() const {
  if (input.layout == TensorLayout::kNCHW) return {input.channels, input.height, input.width};
  return {input.height, input.width, input.channels};
}

StatusOr<ModelConfig> ParseModelConfig(const std::string& yaml_text, const std::filesystem::path& directory) {
  // Every error names the model (model.yaml's name, else its folder's), so that a log line or a repository
  // index entry says which model it is about.
  std::string name = directory.filename().string();
  try {
    const YAML::Node root = YAML::Load(yaml_text);
    if (root.IsMap() && root["name"]) name = root["name"].as<std::string>();
    auto parsed = Parse(root, directory);
    if (!parsed.ok()) return parsed.status().WithContext("model '" + name + "'");
    return parsed;
  } catch (const YAML::Exception& e) {
    return InvalidArgument("model '" + name + "': model.yaml: " + e.what());
  }
}

StatusOr<ModelConfig> LoadModelConfig(const std::filesystem::path& model_yaml) {
  std::ifstream in(model_yaml);
  if (!in) return NotFound("cannot read '" + model_yaml.string() + "'");
  std::stringstream ss;
  ss << in.rdbuf();
  auto parsed = ParseModelConfig(ss.str(), model_yaml.parent_path());
  if (!parsed.ok()) return parsed.status().WithContext(model_yaml.string());
  return parsed;
}

const std::vector<std::string>& CocoLabels() {
  static const std::vector<std::string> kLabels = {"person",        "bicycle",      "car",
                                                   "motorcycle",    "airplane",     "bus",
                                                   "train",         "truck",        "boat",
                                                   "traffic light", "fire hydrant", "stop sign",
                                                   "parking meter", "bench",        "bird",
                                                   "cat",           "dog",          "horse",
                                                   "sheep",         "cow",          "elephant",
                                                   "bear",          "zebra",        "giraffe",
                                                   "backpack",      "umbrella",     "handbag",
                                                   "tie",           "suitcase",     "frisbee",
                                                   "skis",          "snowboard",    "sports ball",
                                                   "kite",          "baseball bat", "baseball glove",
                                                   "skateboard",    "surfboard",    "tennis racket",
                                                   "bottle",        "wine glass",   "cup",
                                                   "fork",          "knife",        "spoon",
                                                   "bowl",          "banana",       "apple",
                                                   "sandwich",      "orange",       "broccoli",
                                                   "carrot",        "hot dog",      "pizza",
                                                   "donut",         "cake",         "chair",
                                                   "couch",         "potted plant", "bed",
                                                   "dining table",  "toilet",       "tv",
                                                   "laptop",        "mouse",        "remote",
                                                   "keyboard",      "cell phone",   "microwave",
                                                   "oven",          "toaster",      "sink",
                                                   "refrigerator",  "book",         "clock",
                                                   "vase",          "scissors",     "teddy bear",
                                                   "hair drier",    "toothbrush"};
  return kLabels;
}

const std::vector<std::string>& Coco91Labels() {
  // The category ids 1..90 of COCO that the 2017 release does not use, with their names from the paper;
  // every other id takes the next name of the 80-class list, in order.
  static const std::vector<std::string> kLabels = [] {
    const std::map<int, std::string> unused = {
        {12, "street sign"}, {26, "hat"},    {29, "shoe"}, {30, "eye glasses"}, {45, "plate"},
        {66, "mirror"},      {68, "window"}, {69, "desk"}, {71, "door"},        {83, "blender"}};
    std::vector<std::string> labels = {"background"};
    size_t next = 0;
    for (int id = 1; id <= 90; ++id) {
      auto it = unused.find(id);
      labels.push_back(it != unused.end() ? it->second : CocoLabels().at(next++));
    }
    return labels;
  }();
  return kLabels;
}

}  // namespace accel
