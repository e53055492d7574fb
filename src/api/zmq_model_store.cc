#include "api/zmq_model_store.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <random>
#include <system_error>

namespace accel {
namespace {

namespace fs = std::filesystem;

constexpr size_t kMaxNameLength = 64;
constexpr int kStrides[] = {8, 16, 32};
// The generated model.yaml lists one label per class, so the count an uploaded file declares is bounded
// before the list is written (beyond LVIS's 1203 and Objects365's 365 with room to spare).
constexpr int64_t kMaxGeneratedClasses = 4096;
constexpr int64_t kMaxBatch = 1024;  // model.yaml's limit on max_batch (core/model_config.cc)

bool SafeChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
         c == '-';
}

// A tensor name as a double-quoted YAML scalar; InvalidArgument for names with control characters.
StatusOr<std::string> YamlQuoted(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
      return InvalidArgument("tensor name has control characters");
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

// Writes `data` to dir/name through a new temporary file in the same folder (O_EXCL | O_NOFOLLOW: never
// through a link someone placed there), then renames it over dir/name.
Status WriteFileAtomically(const fs::path& dir, const std::string& name, std::string_view data) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  const fs::path tmp = dir / ("." + name + ".tmp-" + std::to_string(rng()));
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0) return Unavailable("cannot create " + tmp.string() + ": " + std::strerror(errno));
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const std::string why = std::strerror(errno);
      ::close(fd);
      ::unlink(tmp.c_str());
      return Unavailable("cannot write " + tmp.string() + ": " + why);
    }
    done += static_cast<size_t>(n);
  }
  if (::close(fd) != 0 || ::rename(tmp.c_str(), (dir / name).c_str()) != 0) {
    const std::string why = std::strerror(errno);
    ::unlink(tmp.c_str());
    return Unavailable("cannot save " + (dir / name).string() + ": " + why);
  }
  return Status::Ok();
}

// The first line of a file, "" when it cannot be read.
std::string FirstLine(const fs::path& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

}  // namespace

ZmqModelStore::ZmqModelStore(std::filesystem::path dir, size_t max_models)
    : dir_(std::move(dir)), max_models_(max_models) {}

Status ZmqModelStore::Open() const {
  std::error_code ec;
  fs::create_directories(dir_, ec);
  if (ec || !fs::is_directory(dir_, ec))
    return Unavailable("cannot create the zmq upload folder " + dir_.string() +
                       (ec ? ": " + ec.message() : std::string()));
  return Status::Ok();
}

StatusOr<std::string> ZmqModelStore::ModelNameFor(std::string_view client_name) {
  const size_t slash = client_name.find_last_of("/\\");
  std::string_view base = slash == std::string_view::npos ? client_name : client_name.substr(slash + 1);
  const size_t dot = base.rfind('.');
  if (dot != std::string_view::npos && dot > 0) base = base.substr(0, dot);
  std::string name;
  for (char c : base) name += SafeChar(c) ? c : '_';
  const size_t start = name.find_first_not_of(".-");
  if (start == std::string::npos)
    return InvalidArgument("model name '" + std::string(client_name.substr(0, 80)) +
                           "' has no usable characters");
  return name.substr(start, kMaxNameLength);
}

StatusOr<fs::path> ZmqModelStore::Save(std::string_view client_name, std::string_view bytes) const {
  ACCEL_ASSIGN_OR_RETURN(const std::string name, ModelNameFor(client_name));
  ACCEL_ASSIGN_OR_RETURN(const OnnxSignature signature, ReadOnnxSignature(bytes));
  const fs::path folder = dir_ / name;
  std::error_code ec;
  const fs::file_status folder_status = fs::symlink_status(folder, ec);
  bool created = false;
  if (fs::exists(folder_status)) {
    if (!fs::is_directory(folder_status))
      return FailedPrecondition(folder.string() + " exists and is not a folder (a link?): not writing there");
  } else {
    size_t models = 0;
    for (const auto& entry : fs::directory_iterator(dir_, ec))
      if (entry.is_directory(ec)) ++models;
    if (models >= max_models_)
      return ResourceExhausted(dir_.string() + " already holds " + std::to_string(models) +
                               " uploaded models, the limit; remove some to accept more");
    if (!fs::create_directory(folder, ec) || ec)
      return Unavailable("cannot create " + folder.string() + (ec ? ": " + ec.message() : std::string()));
    created = true;
  }
  auto undo = [&](Status why) {
    fs::remove(folder / (name + ".onnx"), ec);
    if (created) fs::remove(folder, ec);
    return why;
  };
  const std::string file = name + ".onnx";
  if (Status s = WriteFileAtomically(folder, file, bytes); !s.ok()) return undo(s);

  const fs::path yaml = folder / "model.yaml";
  const fs::file_status yaml_status = fs::symlink_status(yaml, ec);
  if (fs::exists(yaml_status) && !fs::is_regular_file(yaml_status))
    return undo(FailedPrecondition(yaml.string() + " is not a regular file (a link?)"));
  if (fs::exists(yaml_status) && FirstLine(yaml) != kGeneratedYamlMarker) return yaml;  // the operator's
  auto text = GeneratedModelYaml(name, file, signature);
  if (!text.ok())
    return undo(InvalidArgument(text.status().message() + "; to serve it, describe it in " + yaml.string() +
                                " (decoder, labels, input; cpu artifact " + file +
                                ", see docs/models.md) and upload it again"));
  if (Status s = WriteFileAtomically(folder, "model.yaml", *text); !s.ok()) return undo(s);
  return yaml;
}

StatusOr<std::string> GeneratedModelYaml(const std::string& model_name, const std::string& file_name,
                                         const OnnxSignature& signature) {
  if (signature.inputs.size() != 1 || signature.outputs.size() != 1)
    return InvalidArgument("accel can describe models with one input and one output only; this one has " +
                           std::to_string(signature.inputs.size()) + " and " +
                           std::to_string(signature.outputs.size()));
  const OnnxTensorInfo& in = signature.inputs[0];
  const OnnxTensorInfo& out = signature.outputs[0];
  if (in.dims.size() != 4 || (in.elem_type != 1 && in.elem_type != 2))
    return InvalidArgument("input '" + in.name + "' is not an image tensor of rank 4, float32 or uint8");
  const bool nchw = in.dims[1] == 3;
  if (!nchw && in.dims[3] != 3)
    return InvalidArgument("input '" + in.name +
                           "' has no dimension of 3 channels at [1] (NCHW) or [3] (NHWC)");
  const int64_t height = nchw ? in.dims[2] : in.dims[1];
  const int64_t width = nchw ? in.dims[3] : in.dims[2];
  if (height <= 0 || width <= 0 || height > 8192 || width > 8192 || height % 32 || width % 32)
    return InvalidArgument("input '" + in.name + "' has no fixed size divisible by 32");
  int64_t anchors = 0;
  for (int stride : kStrides) anchors += (height / stride) * (width / stride);
  if (out.elem_type != 1 || out.dims.size() != 3 || out.dims[1] != anchors || out.dims[2] < 6)
    return InvalidArgument("output '" + out.name + "' is not a YOLOX head (float32 [N, " +
                           std::to_string(anchors) + ", 5 + classes] for a " + std::to_string(width) + "x" +
                           std::to_string(height) + " input)");
  const int64_t classes = out.dims[2] - 5;
  if (classes > kMaxGeneratedClasses)
    return InvalidArgument("output '" + out.name + "' declares " + std::to_string(classes) +
                           " classes; accel describes models of up to " +
                           std::to_string(kMaxGeneratedClasses));
  if (in.dims[0] > kMaxBatch)
    return InvalidArgument("input '" + in.name + "' has a fixed batch of " + std::to_string(in.dims[0]) +
                           "; model.yaml allows at most " + std::to_string(kMaxBatch));
  const int64_t max_batch = in.dims[0] > 0 ? in.dims[0] : 8;
  ACCEL_ASSIGN_OR_RETURN(const std::string input_name, YamlQuoted(in.name));
  ACCEL_ASSIGN_OR_RETURN(const std::string output_name, YamlQuoted(out.name));
  std::string labels = "coco80";
  if (classes != 80) {
    labels = "[";
    for (int64_t c = 0; c < classes; ++c) labels += (c ? ", class_" : "class_") + std::to_string(c);
    labels += "]";
  }
  std::string text = std::string(kGeneratedYamlMarker) + "\n";
  text +=
      "# Described from the ONNX file's own signature (YOLOX head). Replace this file to change the "
      "decoder,\n"
      "# labels or input settings: accel keeps a model.yaml whose first line is not the one above.\n";
  text += "name: " + model_name + "\nversion: 1\ntask: detection\n";
  text += "description: uploaded by a Frigate zmq client\n";
  text += "input:\n  name: " + input_name + "\n  width: " + std::to_string(width) +
          "\n  height: " + std::to_string(height) + "\n  channels: 3\n  layout: " + (nchw ? "NCHW" : "NHWC") +
          "\n  color: BGR\n  dtype: " + (in.elem_type == 1 ? "float32" : "uint8") +
          "\n  scale: 1.0\n  mean: 0.0\n  letterbox: top_left\n  pad_value: 114\n";
  text += "outputs:\n  - name: " + output_name + "\n    shape: [" + std::to_string(anchors) + ", " +
          std::to_string(out.dims[2]) + "]\n    dtype: float32\n";
  text += "decoder:\n  family: yolox\n  strides: [8, 16, 32]\n";
  text += "labels: " + labels + "\n";
  text += "max_batch: " + std::to_string(max_batch) + "\n";
  text += "artifacts:\n  cpu:\n    format: onnx\n    path: " + file_name + "\n";
  return text;
}

}  // namespace accel
