#include "cache/cache_key.h"

#include <xxhash.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <vector>

namespace accel {
namespace {

// Feeds typed values into one XXH3-128 stream. Every variable-length value is length-prefixed, so no two
// different field sequences hash the same bytes.
class Hasher {
 public:
  Hasher() : state_(XXH3_createState()) { XXH3_128bits_reset(state_); }
  ~Hasher() { XXH3_freeState(state_); }
  Hasher(const Hasher&) = delete;
  Hasher& operator=(const Hasher&) = delete;

  void Bytes(const void* data, size_t size) { XXH3_128bits_update(state_, data, size); }
  void Int(int64_t v) { Bytes(&v, sizeof v); }
  void Float(float v) { Bytes(&v, sizeof v); }
  void Text(std::string_view s) {
    Int(static_cast<int64_t>(s.size()));
    Bytes(s.data(), s.size());
  }
  CacheKey Finish() const {
    const XXH128_hash_t h = XXH3_128bits_digest(state_);
    return {h.high64, h.low64};
  }

 private:
  XXH3_state_t* state_;
};

void HashFile(Hasher& h, const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    h.Text("unreadable:" + path.string());
    return;
  }
  std::vector<char> buffer(1 << 20);
  int64_t total = 0;
  while (in) {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    const std::streamsize n = in.gcount();
    if (n <= 0) break;
    h.Bytes(buffer.data(), static_cast<size_t>(n));
    total += n;
  }
  h.Int(total);
}

}  // namespace

std::string CacheKey::Hex() const {
  char text[33];
  std::snprintf(text, sizeof text, "%016llx%016llx", static_cast<unsigned long long>(high),
                static_cast<unsigned long long>(low));
  return text;
}

CacheKey ModelFingerprint(const ModelConfig& model) {
  Hasher h;
  h.Text("accel-model-v1");
  h.Text(model.name);
  h.Text(model.version);
  h.Text(model.task);
  const InputSpec& in = model.input;
  h.Text(in.name);
  for (int64_t v : {int64_t{in.width}, int64_t{in.height}, int64_t{in.channels}, int64_t(in.layout),
                    int64_t(in.color), int64_t(in.dtype), int64_t(in.letterbox), int64_t{in.pad_value}})
    h.Int(v);
  h.Float(in.scale);
  h.Float(in.mean);
  h.Int(static_cast<int64_t>(model.outputs.size()));
  for (const OutputSpec& o : model.outputs) {
    h.Text(o.name);
    h.Int(static_cast<int64_t>(o.dtype));
    h.Int(static_cast<int64_t>(o.shape.size()));
    for (int64_t d : o.shape) h.Int(d);
  }
  const DecoderSpec& d = model.decoder;
  h.Text(d.family);
  h.Int(static_cast<int64_t>(d.strides.size()));
  for (int s : d.strides) h.Int(s);
  h.Float(d.nms_iou);
  h.Float(d.min_confidence);
  for (int64_t v : {int64_t{d.max_detections}, int64_t{d.max_boxes_per_class}, int64_t{d.class_id_offset},
                    int64_t{d.no_object_class}, int64_t{d.top_k}})
    h.Int(v);
  h.Text(d.layout);
  h.Text(d.activation);
  h.Int(static_cast<int64_t>(model.labels.size()));
  for (const std::string& label : model.labels) h.Text(label);
  for (const char* format : {"onnx", "torchscript", "pt2", "hef"}) {
    const Artifact* weights = nullptr;
    for (const Artifact& a : model.artifacts)
      if (a.format == format) weights = &a;
    if (!weights) continue;
    h.Text(format);
    HashFile(h, weights->path);
    break;
  }
  return h.Finish();
}

CacheKey EncodedImageKey(const CacheKey& model, std::string_view encoded) {
  Hasher h;
  h.Text("encoded");
  h.Int(static_cast<int64_t>(model.high));
  h.Int(static_cast<int64_t>(model.low));
  h.Text(encoded);
  return h.Finish();
}

CacheKey DecodedImageKey(const CacheKey& model, const Image& image) {
  Hasher h;
  h.Text("rgb");
  h.Int(static_cast<int64_t>(model.high));
  h.Int(static_cast<int64_t>(model.low));
  for (int v : {image.width, image.height, image.original_width, image.original_height}) h.Int(v);
  h.Int(static_cast<int64_t>(image.rgb.size()));
  h.Bytes(image.rgb.data(), image.rgb.size());
  return h.Finish();
}

CacheKey ModelFingerprints::Get(const std::shared_ptr<const ModelConfig>& model) {
  {
    std::lock_guard lock(mu_);
    auto it = entries_.find(model.get());
    // The weak pointer tells a live entry from one whose configuration was freed and whose address a new
    // configuration now reuses.
    if (it != entries_.end() && it->second.model.lock() == model) return it->second.fingerprint;
  }
  const CacheKey fingerprint = ModelFingerprint(*model);  // outside the lock: it reads a file
  std::lock_guard lock(mu_);
  std::erase_if(entries_, [](const auto& e) { return e.second.model.expired(); });
  entries_[model.get()] = Entry{model, fingerprint};
  return fingerprint;
}

}  // namespace accel
