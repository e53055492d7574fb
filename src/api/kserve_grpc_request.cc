#include "api/kserve_grpc_request.h"

#include <cstring>
#include <limits>
#include <optional>
#include <type_traits>

namespace accel {
namespace {

// The refusal of a shm parameter on a path without shared memory (see KServeShmRequest::refusal).
Status RefuseShm(KServeShmRequest& shm) {
  shm.refused = true;
  return FailedPrecondition(shm.refusal.empty() ? "shared memory is not available on this path"
                                                : shm.refusal);
}

using inference::ModelInferRequest;

StatusOr<KServeParameters> ConvertParameters(
    const google::protobuf::Map<std::string, inference::InferParameter>& in) {
  KServeParameters out;
  for (const auto& [k, v] : in) {
    switch (v.parameter_choice_case()) {
      case inference::InferParameter::kBoolParam:
        out[k] = v.bool_param();
        break;
      case inference::InferParameter::kInt64Param:
        out[k] = v.int64_param();
        break;
      case inference::InferParameter::kStringParam:
        out[k] = v.string_param();
        break;
      case inference::InferParameter::kDoubleParam:
        out[k] = v.double_param();
        break;
      case inference::InferParameter::kUint64Param:
        out[k] = static_cast<int64_t>(v.uint64_param());
        break;
      default:
        return InvalidArgument("parameter '" + k + "' has no value");
    }
  }
  return out;
}

template <typename T, typename Repeated>
Status PackTyped(const Repeated& values, const std::string& name, std::string& out) {
  for (auto v : values) {
    if constexpr (std::is_integral_v<T>) {
      if (static_cast<long double>(v) < static_cast<long double>(std::numeric_limits<T>::min()) ||
          static_cast<long double>(v) > static_cast<long double>(std::numeric_limits<T>::max()))
        return InvalidArgument("input '" + name + "' has a value out of range for its datatype");
    }
    const T t = static_cast<T>(v);
    out.append(reinterpret_cast<const char*>(&t), sizeof(T));
  }
  return Status::Ok();
}

// Typed InferTensorContents -> row-major bytes (or length-prefixed BYTES elements).
Status PackContents(const inference::ModelInferRequest::InferInputTensor& in, std::string& out) {
  const auto& c = in.contents();
  const std::string& d = in.datatype();
  const std::string& n = in.name();
  int64_t count = -1;
  Status s;
  if (d == "FP32") {
    s = PackTyped<float>(c.fp32_contents(), n, out);
    count = c.fp32_contents_size();
  } else if (d == "FP64") {
    s = PackTyped<double>(c.fp64_contents(), n, out);
    count = c.fp64_contents_size();
  } else if (d == "UINT8") {
    s = PackTyped<uint8_t>(c.uint_contents(), n, out);
    count = c.uint_contents_size();
  } else if (d == "UINT16") {
    s = PackTyped<uint16_t>(c.uint_contents(), n, out);
    count = c.uint_contents_size();
  } else if (d == "UINT32") {
    s = PackTyped<uint32_t>(c.uint_contents(), n, out);
    count = c.uint_contents_size();
  } else if (d == "UINT64") {
    s = PackTyped<uint64_t>(c.uint64_contents(), n, out);
    count = c.uint64_contents_size();
  } else if (d == "INT8") {
    s = PackTyped<int8_t>(c.int_contents(), n, out);
    count = c.int_contents_size();
  } else if (d == "INT16") {
    s = PackTyped<int16_t>(c.int_contents(), n, out);
    count = c.int_contents_size();
  } else if (d == "INT32") {
    s = PackTyped<int32_t>(c.int_contents(), n, out);
    count = c.int_contents_size();
  } else if (d == "INT64") {
    s = PackTyped<int64_t>(c.int64_contents(), n, out);
    count = c.int64_contents_size();
  } else if (d == "BOOL") {
    s = PackTyped<uint8_t>(c.bool_contents(), n, out);
    count = c.bool_contents_size();
  } else if (d == "BYTES") {
    for (const auto& e : c.bytes_contents()) AppendBytesElement(out, e);
    count = c.bytes_contents_size();
  } else {
    return InvalidArgument("input '" + n + "' of datatype '" + d + "' must be sent as raw_input_contents");
  }
  ACCEL_RETURN_IF_ERROR(s);
  std::vector<int64_t> shape(in.shape().begin(), in.shape().end());
  if (count != ShapeElementCount(shape))
    return InvalidArgument("input '" + n + "' has " + std::to_string(count) +
                           " elements in contents; shape " + ShapeToString(shape) + " needs " +
                           std::to_string(ShapeElementCount(shape)));
  return Status::Ok();
}

// Shared memory extension: an input or requested output whose parameters name a registered region.
struct ShmParams {
  std::string region;
  uint64_t offset = 0;
  uint64_t byte_size = 0;
};

constexpr const char* kShmRegionParam = "shared_memory_region";

bool HasShmParams(const google::protobuf::Map<std::string, inference::InferParameter>& params) {
  return params.count(kShmRegionParam) > 0;
}

StatusOr<uint64_t> ShmSizeParam(const inference::InferParameter& p, const std::string& what,
                                const std::string& key) {
  if (p.parameter_choice_case() == inference::InferParameter::kUint64Param) return p.uint64_param();
  if (p.parameter_choice_case() == inference::InferParameter::kInt64Param && p.int64_param() >= 0)
    return static_cast<uint64_t>(p.int64_param());
  return InvalidArgument(what + " parameter '" + key + "' must be a non-negative integer");
}

// nullopt when the parameters do not name a region.
StatusOr<std::optional<ShmParams>> ReadShmParams(
    const google::protobuf::Map<std::string, inference::InferParameter>& params, const std::string& what) {
  auto region = params.find(kShmRegionParam);
  if (region == params.end()) return std::optional<ShmParams>();
  if (region->second.parameter_choice_case() != inference::InferParameter::kStringParam)
    return InvalidArgument(what + " parameter 'shared_memory_region' must be a string");
  ShmParams out;
  out.region = region->second.string_param();
  auto size = params.find("shared_memory_byte_size");
  if (size == params.end()) return InvalidArgument(what + " names a shared memory region but no byte size");
  ACCEL_ASSIGN_OR_RETURN(out.byte_size, ShmSizeParam(size->second, what, "shared_memory_byte_size"));
  auto offset = params.find("shared_memory_offset");
  if (offset != params.end()) {
    ACCEL_ASSIGN_OR_RETURN(out.offset, ShmSizeParam(offset->second, what, "shared_memory_offset"));
  }
  return std::optional<ShmParams>(std::move(out));
}

// One input's bytes from its shm window: copied once, straight into the Tensor the scheduler will get.
Status ReadShmInput(const ShmParams& p, const SharedMemoryRegistry& registry, KServeInput& k,
                    std::deque<std::string>& storage) {
  ACCEL_ASSIGN_OR_RETURN(auto window, registry.Acquire(p.region, p.offset, p.byte_size));
  auto dtype = DTypeFromKServe(k.datatype);
  if (k.datatype == "BYTES" || !dtype.ok()) {
    std::string& bytes = storage.emplace_back(reinterpret_cast<const char*>(window.data()), window.size());
    k.data = bytes;
    return Status::Ok();
  }
  uint64_t want = KServeElementSize(k.datatype);
  for (int64_t d : k.shape) {
    if (d > 0 && want > p.byte_size / static_cast<uint64_t>(d)) {
      want = p.byte_size + 1;  // overflowed or larger than the window: a mismatch either way
      break;
    }
    want *= static_cast<uint64_t>(d);
  }
  if (want != p.byte_size)
    return InvalidArgument("input '" + k.name + "' has shared_memory_byte_size " +
                           std::to_string(p.byte_size) + "; shape " + ShapeToString(k.shape) + " of " +
                           k.datatype + " needs " + (want > p.byte_size ? "more" : std::to_string(want)));
  auto tensor = std::make_shared<Tensor>(*dtype, k.shape, k.name);
  if (window.size() > 0) std::memcpy(tensor->bytes(), window.data(), window.size());
  k.data = std::string_view(reinterpret_cast<const char*>(tensor->bytes()), tensor->byte_size());
  k.tensor = std::move(tensor);
  return Status::Ok();
}

// Wire request -> KServeRequest. `raw` holds the raw_input_contents (possibly kept outside `request`, see the
// zero-copy path). Views into `raw` and `storage` (typed contents).
Status ConvertRequest(const ModelInferRequest& request, const std::vector<std::string_view>& raw_contents,
                      KServeRequest& out, std::deque<std::string>& storage, KServeShmRequest& shm) {
  out.model = request.model_name();
  out.version = request.model_version();
  out.id = request.id();
  ACCEL_ASSIGN_OR_RETURN(out.parameters, ConvertParameters(request.parameters()));
  const bool raw = !raw_contents.empty();
  // Inputs in shared memory have no raw_input_contents entry (as in Triton): the entries are the others'.
  int not_in_shm = 0;
  for (const auto& in : request.inputs())
    if (!HasShmParams(in.parameters())) ++not_in_shm;
  if (raw && static_cast<int>(raw_contents.size()) != not_in_shm) {
    if (not_in_shm == request.inputs_size())
      return InvalidArgument("expected " + std::to_string(request.inputs_size()) +
                             " raw_input_contents (one per input), got " +
                             std::to_string(raw_contents.size()));
    return InvalidArgument("expected " + std::to_string(not_in_shm) +
                           " raw_input_contents (one per input not in shared memory), got " +
                           std::to_string(raw_contents.size()));
  }
  size_t next_raw = 0;
  for (int i = 0; i < request.inputs_size(); ++i) {
    const auto& in = request.inputs(i);
    KServeInput k;
    k.name = in.name();
    k.datatype = in.datatype();
    k.shape.assign(in.shape().begin(), in.shape().end());
    if (!IsKnownKServeDatatype(k.datatype))
      return InvalidArgument("input '" + k.name + "' has unknown datatype '" + k.datatype + "'");
    ACCEL_RETURN_IF_ERROR(ValidateInputShape(k.name, k.datatype, k.shape));
    ACCEL_ASSIGN_OR_RETURN(auto shm_in, ReadShmParams(in.parameters(), "input '" + k.name + "'"));
    if (shm_in) {
      if (in.has_contents())
        return InvalidArgument("input '" + k.name + "' has contents although it is in shared memory");
      if (!shm.registry) return RefuseShm(shm);
      ACCEL_RETURN_IF_ERROR(ReadShmInput(*shm_in, *shm.registry, k, storage));
    } else if (raw) {
      if (in.has_contents())
        return InvalidArgument("input '" + k.name + "' has contents although raw_input_contents is used");
      k.data = raw_contents[next_raw++];
      if (k.datatype != "BYTES") {
        const size_t want = InputByteSize(k.datatype, k.shape);
        if (k.data.size() != want)
          return InvalidArgument("input '" + k.name + "' has " + std::to_string(k.data.size()) +
                                 " bytes of raw content; shape " + ShapeToString(k.shape) + " of " +
                                 k.datatype + " needs " + std::to_string(want));
      }
    } else {
      std::string& bytes = storage.emplace_back();
      ACCEL_RETURN_IF_ERROR(PackContents(in, bytes));
      k.data = bytes;
    }
    out.inputs.push_back(std::move(k));
  }
  for (const auto& o : request.outputs()) {
    ACCEL_ASSIGN_OR_RETURN(auto shm_out, ReadShmParams(o.parameters(), "output '" + o.name() + "'"));
    if (shm_out) {
      if (!shm.registry) return RefuseShm(shm);
      ACCEL_ASSIGN_OR_RETURN(auto window,
                             shm.registry->Acquire(shm_out->region, shm_out->offset, shm_out->byte_size));
      shm.outputs.push_back({o.name(), std::move(window)});
    }
    out.requested_outputs.push_back(o.name());
  }
  return Status::Ok();
}

}  // namespace

Status ConvertModelInferRequest(const ModelInferRequest& request, KServeRequest& out,
                                std::deque<std::string>& storage, KServeShmRequest& shm) {
  std::vector<std::string_view> raw(request.raw_input_contents().begin(), request.raw_input_contents().end());
  return ConvertRequest(request, raw, out, storage, shm);
}

Status ConvertModelInferWire(const WireSegments& bytes, ModelInferRequest& header, KServeRequest& out,
                             std::deque<std::string>& storage, KServeShmRequest& shm) {
  ACCEL_ASSIGN_OR_RETURN(SplitMessage split, SplitLengthDelimitedField(bytes, kRawInputContentsField));
  if (!header.ParseFromString(split.rest)) return InvalidArgument("malformed ModelInferRequest");
  std::vector<std::string_view> raw;
  std::shared_ptr<Tensor> tensor;
  if (split.field.size() == 1 && header.inputs_size() == 1 && !header.inputs(0).has_contents() &&
      !HasShmParams(header.inputs(0).parameters())) {
    const auto& in = header.inputs(0);
    auto dtype = DTypeFromKServe(in.datatype());
    std::vector<int64_t> shape(in.shape().begin(), in.shape().end());
    // Element count with overflow and sign guards: any doubt, and the generic path decides.
    uint64_t bytes_needed = dtype.ok() ? DTypeSize(*dtype) : 0;
    for (int64_t d : shape) {
      if (d < 0 || (d > 0 && bytes_needed > split.field[0].size / static_cast<uint64_t>(d)))
        bytes_needed = 0;
      else
        bytes_needed *= static_cast<uint64_t>(d);
    }
    if (dtype.ok() && bytes_needed == split.field[0].size && bytes_needed > 0) {
      tensor = std::make_shared<Tensor>(*dtype, std::move(shape), in.name());
      bytes.CopyOut(split.field[0].offset, split.field[0].size, tensor->bytes());
      raw.emplace_back(reinterpret_cast<const char*>(tensor->bytes()), tensor->byte_size());
    }
  }
  if (!tensor) {
    for (const WireRange& r : split.field) {
      std::string& s = storage.emplace_back();
      bytes.AppendTo(r.offset, r.size, s);
      raw.emplace_back(s);
    }
  }
  ACCEL_RETURN_IF_ERROR(ConvertRequest(header, raw, out, storage, shm));
  if (tensor) out.inputs[0].tensor = std::move(tensor);
  out.outputs_as_tensors = true;
  return Status::Ok();
}

}  // namespace accel
