#include "engines/cpu/onnx_wire.h"

namespace accel::onnx_wire {

bool ReadVarint(std::string_view data, size_t* at, uint64_t* value) {
  uint64_t v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (*at >= data.size()) return false;
    const auto byte = static_cast<uint8_t>(data[(*at)++]);
    v |= static_cast<uint64_t>(byte & 0x7f) << shift;
    if (!(byte & 0x80)) {
      *value = v;
      return true;
    }
  }
  return false;
}

bool AppendVarints(const Field& field, std::vector<int64_t>& out) {
  if (field.wire_type == kVarint) {
    out.push_back(static_cast<int64_t>(field.varint));
    return true;
  }
  if (field.wire_type != kLengthDelimited) return false;
  size_t at = 0;
  while (at < field.bytes.size()) {
    uint64_t v = 0;
    if (!ReadVarint(field.bytes, &at, &v)) return false;
    out.push_back(static_cast<int64_t>(v));
  }
  return true;
}

StatusOr<std::vector<Field>> ParseMessage(std::string_view data) {
  std::vector<Field> fields;
  size_t at = 0;
  while (at < data.size()) {
    uint64_t key = 0;
    if (!ReadVarint(data, &at, &key)) return InvalidArgument("protobuf: truncated field key");
    Field f;
    f.number = static_cast<uint32_t>(key >> 3);
    f.wire_type = static_cast<int>(key & 7);
    if (f.number == 0 || key >> 32) return InvalidArgument("protobuf: field number out of range");
    switch (f.wire_type) {
      case kVarint:
        if (!ReadVarint(data, &at, &f.varint)) return InvalidArgument("protobuf: truncated varint");
        break;
      case kLengthDelimited: {
        uint64_t length = 0;
        if (!ReadVarint(data, &at, &length) || length > data.size() - at)
          return InvalidArgument("protobuf: field length past the end of the data");
        f.bytes = data.substr(at, static_cast<size_t>(length));
        at += static_cast<size_t>(length);
        break;
      }
      case kFixed64:
      case kFixed32: {
        const size_t n = f.wire_type == kFixed64 ? 8 : 4;
        if (n > data.size() - at) return InvalidArgument("protobuf: truncated fixed-size field");
        f.bytes = data.substr(at, n);
        at += n;
        break;
      }
      default:
        return InvalidArgument("protobuf: unsupported wire type " + std::to_string(f.wire_type));
    }
    fields.push_back(f);
  }
  return fields;
}

void AppendVarint(std::string& out, uint64_t value) {
  while (value >= 0x80) {
    out.push_back(static_cast<char>((value & 0x7f) | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<char>(value));
}

void AppendField(std::string& out, const Field& field) {
  AppendVarint(out, (static_cast<uint64_t>(field.number) << 3) | static_cast<uint64_t>(field.wire_type));
  if (field.wire_type == kVarint) {
    AppendVarint(out, field.varint);
    return;
  }
  if (field.wire_type == kLengthDelimited) AppendVarint(out, field.bytes.size());
  out.append(field.bytes);
}

void AppendVarintField(std::string& out, uint32_t number, uint64_t value) {
  AppendVarint(out, static_cast<uint64_t>(number) << 3 | kVarint);
  AppendVarint(out, value);
}

void AppendBytesField(std::string& out, uint32_t number, std::string_view payload) {
  AppendVarint(out, static_cast<uint64_t>(number) << 3 | kLengthDelimited);
  AppendVarint(out, payload.size());
  out.append(payload);
}

}  // namespace accel::onnx_wire
