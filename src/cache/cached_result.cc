#include "cache/cached_result.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <cstring>

namespace accel {
namespace {

constexpr std::string_view kMagic = "ACR1";  // Accel cached result, format 1
constexpr uint32_t kMaxItems = 1u << 20;     // far above any decoder's max_detections
constexpr uint32_t kMaxText = 1u << 16;

class Writer {
 public:
  void U32(uint32_t v) {
    for (int i = 0; i < 4; ++i) out_.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  }
  void F32(float f) {
    uint32_t v;
    std::memcpy(&v, &f, sizeof v);
    U32(v);
  }
  void Text(std::string_view s) {
    U32(static_cast<uint32_t>(s.size()));
    out_.append(s);
  }
  void Raw(std::string_view s) { out_.append(s); }
  std::string Take() { return std::move(out_); }

 private:
  std::string out_;
};

class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  bool U32(uint32_t& v) {
    if (in_.size() < 4) return false;
    v = 0;
    for (int i = 0; i < 4; ++i) v |= uint32_t{static_cast<unsigned char>(in_[i])} << (8 * i);
    in_.remove_prefix(4);
    return true;
  }
  bool I32(int& v) {
    uint32_t u;
    if (!U32(u)) return false;
    v = static_cast<int32_t>(u);
    return true;
  }
  bool F32(float& f) {
    uint32_t v;
    if (!U32(v)) return false;
    std::memcpy(&f, &v, sizeof f);
    return std::isfinite(f);
  }
  bool Text(std::string& s) {
    uint32_t n;
    if (!U32(n) || n > kMaxText || in_.size() < n) return false;
    s.assign(in_.substr(0, n));
    in_.remove_prefix(n);
    return true;
  }
  bool Skip(std::string_view expected) {
    if (in_.substr(0, expected.size()) != expected) return false;
    in_.remove_prefix(expected.size());
    return true;
  }
  // Items of at least `min_size` bytes each must fit in what is left, so a forged count cannot make the
  // reader reserve memory the bytes do not back.
  bool Count(uint32_t& n, size_t min_size) {
    return U32(n) && n <= kMaxItems && static_cast<uint64_t>(n) * min_size <= in_.size();
  }
  bool done() const { return in_.empty(); }

 private:
  std::string_view in_;
};

bool EqualsIgnoreCase(const std::string& a, const std::string& b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

}  // namespace

size_t CachedResult::ByteSize() const {
  size_t n = sizeof(CachedResult) + task.capacity() + device_id.capacity() + engine_kind.capacity();
  for (const Detection& d : detections) n += sizeof(Detection) + d.label.capacity();
  for (const Classification& c : classifications) n += sizeof(Classification) + c.label.capacity();
  return n;
}

std::string SerializeCachedResult(const CachedResult& r) {
  Writer w;
  w.Raw(kMagic);
  w.Text(r.task);
  w.U32(static_cast<uint32_t>(r.image_width));
  w.U32(static_cast<uint32_t>(r.image_height));
  w.Text(r.device_id);
  w.Text(r.engine_kind);
  w.U32(r.simulated ? 1 : 0);
  w.U32(static_cast<uint32_t>(r.detections.size()));
  for (const Detection& d : r.detections) {
    w.U32(static_cast<uint32_t>(d.class_id));
    w.Text(d.label);
    w.F32(d.confidence);
    w.F32(d.box.x_min);
    w.F32(d.box.y_min);
    w.F32(d.box.x_max);
    w.F32(d.box.y_max);
  }
  w.U32(static_cast<uint32_t>(r.classifications.size()));
  for (const Classification& c : r.classifications) {
    w.U32(static_cast<uint32_t>(c.class_id));
    w.Text(c.label);
    w.F32(c.confidence);
  }
  return w.Take();
}

StatusOr<CachedResult> ParseCachedResult(std::string_view bytes) {
  const Status bad = InvalidArgument("cached result: not a complete result of format " + std::string(kMagic));
  Reader in(bytes);
  CachedResult r;
  uint32_t simulated = 0, count = 0;
  if (!in.Skip(kMagic) || !in.Text(r.task) || !in.I32(r.image_width) || !in.I32(r.image_height) ||
      !in.Text(r.device_id) || !in.Text(r.engine_kind) || !in.U32(simulated) || simulated > 1 ||
      r.image_width < 0 || r.image_height < 0)
    return bad;
  r.simulated = simulated == 1;
  if (!in.Count(count, 28)) return bad;
  r.detections.resize(count);
  for (Detection& d : r.detections) {
    if (!in.I32(d.class_id) || !in.Text(d.label) || !in.F32(d.confidence) || !in.F32(d.box.x_min) ||
        !in.F32(d.box.y_min) || !in.F32(d.box.x_max) || !in.F32(d.box.y_max))
      return bad;
  }
  if (!in.Count(count, 12)) return bad;
  r.classifications.resize(count);
  for (Classification& c : r.classifications) {
    if (!in.I32(c.class_id) || !in.Text(c.label) || !in.F32(c.confidence)) return bad;
  }
  if (!in.done()) return bad;
  return r;
}

void ApplyClassificationFilter(std::vector<Classification>& classes, const DetectionFilter& filter,
                               int top_k) {
  std::erase_if(classes, [&](const Classification& c) {
    if (c.confidence < filter.threshold) return true;
    if (filter.targets.empty()) return false;
    return std::none_of(filter.targets.begin(), filter.targets.end(),
                        [&](const std::string& t) { return EqualsIgnoreCase(t, c.label); });
  });
  std::stable_sort(classes.begin(), classes.end(), [](const Classification& a, const Classification& b) {
    return a.confidence > b.confidence;
  });
  if (top_k >= 0 && classes.size() > static_cast<size_t>(top_k)) classes.resize(top_k);
  if (filter.max_results >= 0 && classes.size() > static_cast<size_t>(filter.max_results))
    classes.resize(filter.max_results);
}

}  // namespace accel
