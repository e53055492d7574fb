#include "api/kserve_grpc_fast_path.h"

#include <algorithm>
#include <cstring>

namespace accel {
namespace {

constexpr int kMaxVarintBytes = 10;

// Sequential reader over WireSegments; every read is bounds-checked against the total size.
class Cursor {
 public:
  explicit Cursor(const WireSegments& wire) : wire_(wire) {}
  size_t pos() const { return pos_; }
  bool done() const { return pos_ >= wire_.size(); }
  size_t remaining() const { return wire_.size() - pos_; }

  bool ReadVarint(uint64_t& value) {
    value = 0;
    for (int i = 0; i < kMaxVarintBytes; ++i) {
      if (done()) return false;
      uint8_t b;
      wire_.CopyOut(pos_++, 1, &b);
      if (i == kMaxVarintBytes - 1 && b > 1) return false;  // more than 64 bits
      value |= static_cast<uint64_t>(b & 0x7f) << (7 * i);
      if ((b & 0x80) == 0) return true;
    }
    return false;
  }
  bool Skip(uint64_t n) {
    if (n > remaining()) return false;
    pos_ += static_cast<size_t>(n);
    return true;
  }

 private:
  const WireSegments& wire_;
  size_t pos_ = 0;
};

Status Malformed(const std::string& what, size_t at) {
  return InvalidArgument("malformed ModelInferRequest: " + what + " at byte " + std::to_string(at));
}

}  // namespace

WireSegments::WireSegments(std::vector<std::string_view> segments) : segments_(std::move(segments)) {
  starts_.reserve(segments_.size());
  for (auto s : segments_) {
    starts_.push_back(total_);
    total_ += s.size();
  }
}

void WireSegments::CopyOut(size_t offset, size_t n, void* dst) const {
  auto* out = static_cast<char*>(dst);
  // Last segment starting at or before `offset` (empty segments are harmless: they copy nothing).
  const auto after = std::upper_bound(starts_.begin(), starts_.end(), offset);
  size_t i = static_cast<size_t>(after - starts_.begin()) - 1;
  size_t within = offset - starts_[i];
  while (n > 0) {
    const std::string_view s = segments_[i];
    const size_t take = std::min(n, s.size() - within);
    std::memcpy(out, s.data() + within, take);
    out += take;
    n -= take;
    ++i;
    within = 0;
  }
}

void WireSegments::AppendTo(size_t offset, size_t n, std::string& out) const {
  const size_t old = out.size();
  out.resize(old + n);
  if (n > 0) CopyOut(offset, n, out.data() + old);
}

StatusOr<SplitMessage> SplitLengthDelimitedField(const WireSegments& wire, uint32_t field_number) {
  SplitMessage split;
  Cursor c(wire);
  while (!c.done()) {
    const size_t start = c.pos();
    uint64_t tag;
    if (!c.ReadVarint(tag)) return Malformed("truncated or over-long tag", start);
    const uint64_t field = tag >> 3;
    const int wire_type = static_cast<int>(tag & 7);
    if (field == 0 || field > 0x1fffffff) return Malformed("invalid field number", start);
    uint64_t length = 0;
    bool ok = true;
    switch (wire_type) {
      case 0:
        ok = c.ReadVarint(length);
        break;
      case 1:
        ok = c.Skip(8);
        break;
      case 2: {
        const size_t length_at = c.pos();
        if (!c.ReadVarint(length)) return Malformed("truncated length", length_at);
        if (length > c.remaining()) return Malformed("length past the end of the message", length_at);
        if (field == field_number) {
          split.field.push_back({c.pos(), static_cast<size_t>(length)});
          c.Skip(length);
          continue;
        }
        c.Skip(length);
        break;
      }
      case 5:
        ok = c.Skip(4);
        break;
      default:
        return Malformed("unsupported wire type " + std::to_string(wire_type), start);
    }
    if (!ok) return Malformed("truncated field", start);
    if (field == field_number)
      return Malformed("field " + std::to_string(field_number) + " with wire type " +
                           std::to_string(wire_type) + " (bytes fields are length-delimited)",
                       start);
    wire.AppendTo(start, c.pos() - start, split.rest);
  }
  return split;
}

std::string LengthDelimitedPrefix(uint32_t field_number, uint64_t length) {
  std::string out;
  auto put = [&out](uint64_t v) {
    while (v >= 0x80) {
      out.push_back(static_cast<char>((v & 0x7f) | 0x80));
      v >>= 7;
    }
    out.push_back(static_cast<char>(v));
  };
  put((static_cast<uint64_t>(field_number) << 3) | 2);
  put(length);
  return out;
}

}  // namespace accel
