// Result-cache keys: a 128-bit XXH3 hash over what decides a model-level result, namely the model (its
// identity: ModelFingerprint) and the request's image bytes exactly as sent (encoded JPEG/PNG, or decoded
// RGB pixels with their dimensions). Not over the request's threshold, targets or result limit: the cache
// holds results before those are applied. Not over the engine either: every artifact of a model honours the
// same contract (docs/architecture.md), so a result is the model's, not the device's.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/model_config.h"
#include "vision/image.h"

namespace accel {

struct CacheKey {
  uint64_t high = 0;
  uint64_t low = 0;

  bool operator==(const CacheKey&) const = default;
  // 32 lower-case hex digits, high word first.
  std::string Hex() const;
};

struct CacheKeyHash {
  size_t operator()(const CacheKey& k) const { return static_cast<size_t>(k.low ^ (k.high >> 1)); }
};

// Everything of a model that changes its model-level results: name, version, the input contract (size,
// layout, colours, scaling, letterbox mode and padding), the outputs, the decoder settings and the labels,
// and the content of its first artifact in the order onnx, torchscript, pt2, hef (the weights: a model
// re-uploaded under the same name with other weights gets other keys). The artifact is read once per call:
// callers keep the result (ModelFingerprints). An unreadable artifact contributes its path instead.
CacheKey ModelFingerprint(const ModelConfig& model);

// Key of a request carrying encoded image bytes (JPEG or PNG, as sent).
CacheKey EncodedImageKey(const CacheKey& model, std::string_view encoded);
// Key of a request carrying decoded RGB pixels (seed nested arrays, Frigate zmq tensors).
CacheKey DecodedImageKey(const CacheKey& model, const Image& image);

// ModelFingerprint, computed once per loaded model configuration (a reload or an upload makes a new
// configuration object and so a new fingerprint). Thread-safe; the first call for a model reads its artifact
// (milliseconds for a few MB), so call it off I/O threads.
class ModelFingerprints {
 public:
  CacheKey Get(const std::shared_ptr<const ModelConfig>& model);

 private:
  struct Entry {
    std::weak_ptr<const ModelConfig> model;
    CacheKey fingerprint;
  };
  std::mutex mu_;
  std::unordered_map<const ModelConfig*, Entry> entries_;
};

}  // namespace accel
