#include "core/onnx_info.h"

#include <set>

namespace accel {
namespace {

// Field numbers of onnx.proto (ONNX IR, stable since IR version 3).
constexpr uint32_t kModelIrVersion = 1;
constexpr uint32_t kModelProducerName = 2;
constexpr uint32_t kModelGraph = 7;
constexpr uint32_t kGraphInitializer = 5;
constexpr uint32_t kGraphInput = 11;
constexpr uint32_t kGraphOutput = 12;
constexpr uint32_t kTensorName = 8;
constexpr uint32_t kValueInfoName = 1;
constexpr uint32_t kValueInfoType = 2;
constexpr uint32_t kTypeTensor = 1;
constexpr uint32_t kTypeTensorElemType = 1;
constexpr uint32_t kTypeTensorShape = 2;
constexpr uint32_t kShapeDim = 1;
constexpr uint32_t kDimValue = 1;

enum WireType { kVarint = 0, kFixed64 = 1, kLengthDelimited = 2, kFixed32 = 5 };

// A cursor over one protobuf message. Every read checks the bounds; groups (wire types 3 and 4, unused by
// ONNX) are errors.
class ProtoReader {
 public:
  explicit ProtoReader(std::string_view data) : data_(data) {}

  bool AtEnd() const { return at_ == data_.size(); }

  Status Key(uint32_t* field, int* wire_type) {
    ACCEL_ASSIGN_OR_RETURN(uint64_t key, Varint());
    *field = static_cast<uint32_t>(key >> 3);
    *wire_type = static_cast<int>(key & 7);
    if (*field == 0 || key >> 32) return Bad("field number out of range");
    if (*wire_type != kVarint && *wire_type != kFixed64 && *wire_type != kLengthDelimited &&
        *wire_type != kFixed32)
      return Bad("wire type " + std::to_string(*wire_type));
    return Status::Ok();
  }

  StatusOr<uint64_t> Varint() {
    uint64_t value = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (at_ == data_.size()) return Bad("truncated number");
      const auto byte = static_cast<uint8_t>(data_[at_++]);
      value |= static_cast<uint64_t>(byte & 0x7f) << shift;
      if (!(byte & 0x80)) return value;
    }
    return Bad("number longer than 10 bytes");
  }

  StatusOr<std::string_view> Bytes() {
    ACCEL_ASSIGN_OR_RETURN(uint64_t length, Varint());
    if (length > data_.size() - at_) return Bad("field length past the end of the data");
    std::string_view out = data_.substr(at_, static_cast<size_t>(length));
    at_ += static_cast<size_t>(length);
    return out;
  }

  Status Skip(int wire_type) {
    size_t n = 0;
    switch (wire_type) {
      case kVarint:
        return Varint().status();
      case kLengthDelimited:
        return Bytes().status();
      case kFixed64:
        n = 8;
        break;
      default:
        n = 4;
    }
    if (n > data_.size() - at_) return Bad("truncated fixed-size field");
    at_ += n;
    return Status::Ok();
  }

 private:
  static Status Bad(const std::string& why) { return InvalidArgument("not an ONNX model (" + why + ")"); }

  std::string_view data_;
  size_t at_ = 0;
};

// Calls on_field(field, wire_type, reader) for every field of the message in `data`; the callback reads or
// skips the value.
template <typename OnField>
Status ForEachField(std::string_view data, OnField on_field) {
  ProtoReader reader(data);
  while (!reader.AtEnd()) {
    uint32_t field = 0;
    int wire_type = 0;
    ACCEL_RETURN_IF_ERROR(reader.Key(&field, &wire_type));
    ACCEL_RETURN_IF_ERROR(on_field(field, wire_type, reader));
  }
  return Status::Ok();
}

Status ReadShape(std::string_view data, OnnxTensorInfo& info) {
  info.has_shape = true;
  return ForEachField(data, [&](uint32_t field, int wire, ProtoReader& r) -> Status {
    if (field != kShapeDim || wire != kLengthDelimited) return r.Skip(wire);
    ACCEL_ASSIGN_OR_RETURN(std::string_view dim, r.Bytes());
    int64_t value = -1;  // dim_param (a name) or nothing: unknown
    ACCEL_RETURN_IF_ERROR(ForEachField(dim, [&](uint32_t f, int w, ProtoReader& d) -> Status {
      if (f != kDimValue || w != kVarint) return d.Skip(w);
      ACCEL_ASSIGN_OR_RETURN(uint64_t v, d.Varint());
      value = static_cast<int64_t>(v) > 0 ? static_cast<int64_t>(v) : -1;
      return Status::Ok();
    }));
    info.dims.push_back(value);
    return Status::Ok();
  });
}

Status ReadValueInfo(std::string_view data, OnnxTensorInfo& info) {
  return ForEachField(data, [&](uint32_t field, int wire, ProtoReader& r) -> Status {
    if (field == kValueInfoName && wire == kLengthDelimited) {
      ACCEL_ASSIGN_OR_RETURN(std::string_view name, r.Bytes());
      info.name = std::string(name);
      return Status::Ok();
    }
    if (field != kValueInfoType || wire != kLengthDelimited) return r.Skip(wire);
    ACCEL_ASSIGN_OR_RETURN(std::string_view type, r.Bytes());
    return ForEachField(type, [&](uint32_t f, int w, ProtoReader& t) -> Status {
      if (f != kTypeTensor || w != kLengthDelimited) return t.Skip(w);
      ACCEL_ASSIGN_OR_RETURN(std::string_view tensor, t.Bytes());
      return ForEachField(tensor, [&](uint32_t g, int x, ProtoReader& u) -> Status {
        if (g == kTypeTensorElemType && x == kVarint) {
          ACCEL_ASSIGN_OR_RETURN(uint64_t type_id, u.Varint());
          info.elem_type = static_cast<int>(type_id & 0x7fffffff);
          return Status::Ok();
        }
        if (g != kTypeTensorShape || x != kLengthDelimited) return u.Skip(x);
        ACCEL_ASSIGN_OR_RETURN(std::string_view shape, u.Bytes());
        return ReadShape(shape, info);
      });
    });
  });
}

Status ReadGraph(std::string_view data, OnnxSignature& out) {
  std::set<std::string> initializers;
  std::vector<OnnxTensorInfo> inputs;
  ACCEL_RETURN_IF_ERROR(ForEachField(data, [&](uint32_t field, int wire, ProtoReader& r) -> Status {
    if (wire != kLengthDelimited) return r.Skip(wire);
    if (field == kGraphInitializer) {
      ACCEL_ASSIGN_OR_RETURN(std::string_view tensor, r.Bytes());
      return ForEachField(tensor, [&](uint32_t f, int w, ProtoReader& t) -> Status {
        if (f != kTensorName || w != kLengthDelimited) return t.Skip(w);
        ACCEL_ASSIGN_OR_RETURN(std::string_view name, t.Bytes());
        initializers.emplace(name);
        return Status::Ok();
      });
    }
    if (field != kGraphInput && field != kGraphOutput) return r.Skip(wire);
    ACCEL_ASSIGN_OR_RETURN(std::string_view value_info, r.Bytes());
    OnnxTensorInfo info;
    ACCEL_RETURN_IF_ERROR(ReadValueInfo(value_info, info));
    (field == kGraphInput ? inputs : out.outputs).push_back(std::move(info));
    return Status::Ok();
  }));
  // Before IR version 4 the weights were listed among the inputs too; they are not inputs a client feeds.
  for (auto& in : inputs)
    if (!initializers.count(in.name)) out.inputs.push_back(std::move(in));
  return Status::Ok();
}

}  // namespace

StatusOr<OnnxSignature> ReadOnnxSignature(std::string_view bytes) {
  OnnxSignature out;
  bool have_graph = false;
  ACCEL_RETURN_IF_ERROR(ForEachField(bytes, [&](uint32_t field, int wire, ProtoReader& r) -> Status {
    if (field == kModelIrVersion && wire == kVarint) {
      ACCEL_ASSIGN_OR_RETURN(uint64_t v, r.Varint());
      out.ir_version = static_cast<int64_t>(v & 0x7fffffffffffffffULL);
      return Status::Ok();
    }
    if (field == kModelProducerName && wire == kLengthDelimited) {
      ACCEL_ASSIGN_OR_RETURN(std::string_view name, r.Bytes());
      out.producer = std::string(name.substr(0, 64));
      return Status::Ok();
    }
    if (field != kModelGraph || wire != kLengthDelimited) return r.Skip(wire);
    ACCEL_ASSIGN_OR_RETURN(std::string_view graph, r.Bytes());
    have_graph = true;
    return ReadGraph(graph, out);
  }));
  // IR versions run from 1 (2017) to about 10 today; a random file that happens to parse as protobuf is
  // caught here.
  if (out.ir_version < 1 || out.ir_version > 100)
    return InvalidArgument("not an ONNX model (no valid IR version)");
  if (!have_graph) return InvalidArgument("not an ONNX model (no graph)");
  if (out.inputs.empty() || out.outputs.empty())
    return InvalidArgument("the ONNX graph declares no inputs or no outputs");
  return out;
}

std::string OnnxElemTypeName(int elem_type) {
  switch (elem_type) {
    case 1:
      return "float32";
    case 2:
      return "uint8";
    case 3:
      return "int8";
    case 6:
      return "int32";
    case 7:
      return "int64";
    case 10:
      return "float16";
    case 11:
      return "float64";
    default:
      return "type " + std::to_string(elem_type);
  }
}

}  // namespace accel
