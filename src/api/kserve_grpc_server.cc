#include "api/kserve_grpc_server.h"

#include <grpcpp/grpcpp.h>

#include <malloc.h>
#include <sys/stat.h>

#include <chrono>
#include <cstring>
#include <deque>
#include <mutex>
#include <optional>

#include "api/ai_api.h"
#include "api/kserve_grpc_fast_path.h"
#include "api/shared_memory_registry.h"
#include "core/logging.h"
#include "grpc_service.grpc.pb.h"
#include "metrics/accel_metrics.h"

namespace accel {
namespace {

using inference::ModelInferRequest;
using inference::ModelInferResponse;
using inference::ModelStreamInferResponse;

grpc::Status ToGrpc(const Status& s) {
  if (s.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(GrpcCodeFor(s.code())), s.message());
}

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

// A requested output that goes into shared memory instead of raw_output_contents.
struct ShmOutput {
  std::string name;
  SharedMemoryRegistry::Mapping window;
};

// What ConvertRequest needs for, and learns about, the shared memory extension.
struct ShmRequest {
  const SharedMemoryRegistry* registry = nullptr;  // null: shm parameters are refused, with `refusal`
  std::string refusal;
  bool refused = false;  // set when a request named a region although registry is null: PERMISSION_DENIED
  std::vector<ShmOutput> outputs;
};

Status RefuseShm(ShmRequest& shm) {
  shm.refused = true;
  return FailedPrecondition(shm.refusal.empty() ? "shared memory is not available on this path"
                                                : shm.refusal);
}

// The peer rule of the shared memory extension: only clients that came through a Unix-socket listener
// ("unix:<path>"; not "unix-abstract:", whose names no file permission guards). gRPC's peer string of
// such a connection starts with "unix:".
bool IsUnixSocketPeer(const std::string& peer) { return peer.rfind("unix:", 0) == 0; }

// The filesystem path of a "unix:" listening address ("unix:path" or "unix://absolute-path"); "" for other
// addresses.
std::string UnixSocketPath(const std::string& address) {
  if (address.rfind("unix:", 0) != 0) return "";
  std::string path = address.substr(5);
  if (path.rfind("//", 0) == 0) path = path.substr(2);
  return path;
}

// Copies each output that has a shm target into its window; `in_shm[i]` tells which outputs then stay out of
// raw_output_contents (their metadata stays in the response). InvalidArgument when a window is too small.
Status WriteShmOutputs(const std::vector<ShmOutput>& targets, const KServeResponse& response,
                       std::vector<bool>& in_shm) {
  in_shm.assign(response.outputs.size(), false);
  if (targets.empty()) return Status::Ok();
  for (size_t i = 0; i < response.outputs.size(); ++i) {
    const KServeOutput& o = response.outputs[i];
    for (const ShmOutput& t : targets) {
      if (t.name != o.name) continue;
      const std::string_view bytes = o.bytes();
      if (bytes.size() > t.window.size())
        return InvalidArgument("output '" + o.name + "' has " + std::to_string(bytes.size()) +
                               " bytes; its shared memory window holds " + std::to_string(t.window.size()));
      if (!bytes.empty()) std::memcpy(t.window.data(), bytes.data(), bytes.size());
      in_shm[i] = true;
      break;
    }
  }
  return Status::Ok();
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
                      KServeRequest& out, std::deque<std::string>& storage, ShmRequest& shm) {
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

Status ConvertRequest(const ModelInferRequest& request, KServeRequest& out, std::deque<std::string>& storage,
                      ShmRequest& shm) {
  std::vector<std::string_view> raw(request.raw_input_contents().begin(), request.raw_input_contents().end());
  return ConvertRequest(request, raw, out, storage, shm);
}

// Everything of the response but the output bytes (raw_output_contents).
void FillResponseHeader(const KServeResponse& in, ModelInferResponse& out) {
  out.set_model_name(in.model);
  out.set_model_version(in.version);
  if (!in.id.empty()) out.set_id(in.id);
  auto& params = *out.mutable_parameters();
  params["device"].set_string_param(in.device_id);
  params["engine"].set_string_param(in.engine_kind);
  params["simulated"].set_bool_param(in.simulated);
  for (const auto& o : in.outputs) {
    auto* t = out.add_outputs();
    t->set_name(o.name);
    t->set_datatype(o.datatype);
    for (int64_t d : o.shape) t->add_shape(d);
  }
}

// The zero-copy request path. Splits the serialised ModelInferRequest into raw_input_contents and the rest
// (parsed by protobuf: small). A single raw FP32/UINT8/... input whose byte count matches its shape is copied
// from gRPC's slices straight into the Tensor the scheduler will get (the only user-space copy of the input);
// any other raw contents are gathered into `storage` and go through the same checks as the protobuf path, so
// every error message is the same. `header` must outlive `out` (names are copied, contents are viewed).
Status ConvertWireRequest(const grpc::ByteBuffer& wire, ModelInferRequest& header, KServeRequest& out,
                          std::deque<std::string>& storage, ShmRequest& shm) {
  std::vector<grpc::Slice> slices;
  if (!wire.Dump(&slices).ok()) return InvalidArgument("cannot read the request message");
  std::vector<std::string_view> segments;
  segments.reserve(slices.size());
  for (const auto& s : slices) segments.emplace_back(reinterpret_cast<const char*>(s.begin()), s.size());
  const WireSegments bytes(std::move(segments));
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

// Serialised ModelInferResponse whose output bytes are not copied: protobuf writes the small header, then
// each raw_output_contents entry is its tag + length and a slice that owns (a reference to) the output's
// storage. Fields may come in any order on the wire, so appending field 6 after the rest is a valid encoding.
// Outputs with in_shm[i] set were written to shared memory and get no raw_output_contents entry.
grpc::ByteBuffer EncodeWireResponse(KServeResponse&& in, const std::vector<bool>& in_shm) {
  ModelInferResponse header;
  FillResponseHeader(in, header);
  std::string head;
  header.SerializeToString(&head);
  std::vector<grpc::Slice> slices;
  for (size_t i = 0; i < in.outputs.size(); ++i) {
    if (i < in_shm.size() && in_shm[i]) continue;
    auto& o = in.outputs[i];
    const std::string_view bytes = o.bytes();
    head += LengthDelimitedPrefix(kRawOutputContentsField, bytes.size());
    slices.emplace_back(head);  // copies the few header bytes
    head.clear();
    if (bytes.empty()) continue;
    if (o.tensor) {
      auto* owner = new std::shared_ptr<const Tensor>(std::move(o.tensor));
      slices.emplace_back(
          const_cast<char*>(bytes.data()), bytes.size(),
          [](void* p) { delete static_cast<std::shared_ptr<const Tensor>*>(p); }, owner);
    } else {
      auto* owner = new std::string(std::move(o.data));
      slices.emplace_back(
          owner->data(), owner->size(), [](void* p) { delete static_cast<std::string*>(p); }, owner);
    }
  }
  if (!head.empty() || slices.empty()) slices.emplace_back(head);
  return grpc::ByteBuffer(slices.data(), slices.size());
}

// The streaming path: a protobuf message (the stream's messages are typed), so output bytes are copied once.
void FillResponse(KServeResponse&& in, ModelInferResponse& out, const std::vector<bool>& in_shm) {
  FillResponseHeader(in, out);
  for (size_t i = 0; i < in.outputs.size(); ++i) {
    if (i < in_shm.size() && in_shm[i]) continue;
    auto& o = in.outputs[i];
    out.add_raw_output_contents(o.tensor ? std::string(o.bytes()) : std::move(o.data));
  }
}

// ModelInfer takes the raw (ByteBuffer) callback API for the zero-copy path; every other method is typed.
class Service final : public inference::GRPCInferenceService::WithRawCallbackMethod_ModelInfer<
                          inference::GRPCInferenceService::CallbackService> {
 public:
  Service(ServiceContext& ctx, KServeBackend& backend, SharedMemoryRegistry& shm, bool zero_copy,
          bool shared_memory)
      : ctx_(ctx), backend_(backend), shm_(shm), zero_copy_(zero_copy), shared_memory_(shared_memory) {}

  grpc::ServerUnaryReactor* ServerLive(grpc::CallbackServerContext* c, const inference::ServerLiveRequest*,
                                       inference::ServerLiveResponse* r) override {
    if (auto* refused = Refused(c, AccessLevel::kObservability)) return refused;
    r->set_live(backend_.Live());
    return Done(c, grpc::Status::OK);
  }
  grpc::ServerUnaryReactor* ServerReady(grpc::CallbackServerContext* c, const inference::ServerReadyRequest*,
                                        inference::ServerReadyResponse* r) override {
    if (auto* refused = Refused(c, AccessLevel::kObservability)) return refused;
    r->set_ready(backend_.Ready());
    return Done(c, grpc::Status::OK);
  }
  grpc::ServerUnaryReactor* ModelReady(grpc::CallbackServerContext* c, const inference::ModelReadyRequest* q,
                                       inference::ModelReadyResponse* r) override {
    if (auto* refused = Refused(c, AccessLevel::kObservability)) return refused;
    auto ready = backend_.ModelReady(q->name(), q->version());
    if (!ready.ok()) return Done(c, ToGrpc(ready.status()));
    r->set_ready(*ready);
    return Done(c, grpc::Status::OK);
  }
  grpc::ServerUnaryReactor* ServerMetadata(grpc::CallbackServerContext* c,
                                           const inference::ServerMetadataRequest*,
                                           inference::ServerMetadataResponse* r) override {
    if (auto* refused = Refused(c, AccessLevel::kInference)) return refused;
    const auto meta = backend_.ServerMetadata();
    r->set_name(meta.name);
    r->set_version(meta.version);
    for (const auto& e : meta.extensions) r->add_extensions(e);
    // gRPC only (the HTTP front end has no shm endpoints), and only when enabled.
    if (shared_memory_) r->add_extensions("system_shared_memory");
    return Done(c, grpc::Status::OK);
  }

  // System shared memory extension. The CUDA shared memory RPCs keep the generated UNIMPLEMENTED answer.
  // Every shm RPC, and every ModelInfer that names a region, must come from a Unix-socket peer.
  grpc::ServerUnaryReactor* SystemSharedMemoryStatus(
      grpc::CallbackServerContext* c, const inference::SystemSharedMemoryStatusRequest* q,
      inference::SystemSharedMemoryStatusResponse* r) override {
    if (auto* refused = Refused(c, AccessLevel::kAdmin)) return refused;
    if (auto refusal = ShmRefusal(c->peer())) return Done(c, *refusal);
    auto regions = shm_.List(q->name());
    if (!regions.ok()) return Done(c, ToGrpc(regions.status()));
    for (const auto& info : *regions) {
      auto& out = (*r->mutable_regions())[info.name];
      out.set_name(info.name);
      out.set_key(info.key);
      out.set_offset(info.offset);
      out.set_byte_size(info.byte_size);
    }
    return Done(c, grpc::Status::OK);
  }
  grpc::ServerUnaryReactor* SystemSharedMemoryRegister(
      grpc::CallbackServerContext* c, const inference::SystemSharedMemoryRegisterRequest* q,
      inference::SystemSharedMemoryRegisterResponse*) override {
    if (auto* refused = Refused(c, AccessLevel::kAdmin)) return refused;
    if (auto refusal = ShmRefusal(c->peer())) return Done(c, *refusal);
    const Status s = shm_.Register(q->name(), q->key(), q->offset(), q->byte_size());
    if (s.code() == StatusCode::kFailedPrecondition)  // the registry's contract: a duplicate name
      return Done(c, grpc::Status(grpc::StatusCode::ALREADY_EXISTS, s.message()));
    return Done(c, ToGrpc(s));
  }
  grpc::ServerUnaryReactor* SystemSharedMemoryUnregister(
      grpc::CallbackServerContext* c, const inference::SystemSharedMemoryUnregisterRequest* q,
      inference::SystemSharedMemoryUnregisterResponse*) override {
    if (auto* refused = Refused(c, AccessLevel::kAdmin)) return refused;
    if (auto refusal = ShmRefusal(c->peer())) return Done(c, *refusal);
    return Done(c, ToGrpc(shm_.Unregister(q->name())));
  }
  grpc::ServerUnaryReactor* ModelMetadata(grpc::CallbackServerContext* c,
                                          const inference::ModelMetadataRequest* q,
                                          inference::ModelMetadataResponse* r) override {
    if (auto* refused = Refused(c, AccessLevel::kInference)) return refused;
    auto meta = backend_.ModelMetadata(q->name(), q->version());
    if (!meta.ok()) return Done(c, ToGrpc(meta.status()));
    r->set_name(meta->name);
    for (const auto& v : meta->versions) r->add_versions(v);
    r->set_platform(meta->platform);
    auto fill = [](const KServeTensorMetadata& t, inference::ModelMetadataResponse::TensorMetadata* out) {
      out->set_name(t.name);
      out->set_datatype(t.datatype);
      for (int64_t d : t.shape) out->add_shape(d);
    };
    for (const auto& t : meta->inputs) fill(t, r->add_inputs());
    for (const auto& t : meta->outputs) fill(t, r->add_outputs());
    return Done(c, grpc::Status::OK);
  }

  grpc::ServerUnaryReactor* ModelInfer(grpc::CallbackServerContext* c, const grpc::ByteBuffer* q,
                                       grpc::ByteBuffer* r) override {
    if (auto* refused = Refused(c, AccessLevel::kInference)) return refused;
    auto* reactor = c->DefaultReactor();
    const SteadyTime started = Clock::Real()->Now();
    ModelInferRequest header;
    KServeRequest request;
    std::deque<std::string> storage;
    auto shm = MakeShmRequest(c->peer());
    Status s;
    if (zero_copy_) {
      s = ConvertWireRequest(*q, header, request, storage, *shm);
    } else {
      grpc::ByteBuffer copy(*q);  // Deserialize consumes its argument; this copies references only
      s = grpc::SerializationTraits<ModelInferRequest>::Deserialize(&copy, &header).ok()
              ? ConvertRequest(header, request, storage, *shm)
              : InvalidArgument("malformed ModelInferRequest");
    }
    if (!s.ok()) {
      RecordApiRequest(ctx_, "kserve_grpc", header.model_name(), "",
                       shm->refused ? 403 : HttpStatusFor(s.code()), started);
      reactor->Finish(shm->refused ? grpc::Status(grpc::StatusCode::PERMISSION_DENIED, s.message())
                                   : ToGrpc(s));
      return reactor;
    }
    // The gRPC runtime keeps *q and *r alive until Finish; Infer copies or shares the input before returning.
    backend_.Infer(request, [this, reactor, r, started, shm,
                             model = header.model_name()](StatusOr<KServeResponse> result) {
      std::vector<bool> in_shm;
      if (result.ok()) {
        Status written = WriteShmOutputs(shm->outputs, *result, in_shm);
        if (!written.ok()) result = std::move(written);
      }
      if (!result.ok()) {
        RecordApiRequest(ctx_, "kserve_grpc", model, "", HttpStatusFor(result.status().code()), started);
        reactor->Finish(ToGrpc(result.status()));
        return;
      }
      RecordApiRequest(ctx_, "kserve_grpc", model, result->device_id, 200, started);
      if (zero_copy_) {
        *r = EncodeWireResponse(std::move(result).value(), in_shm);
      } else {
        ModelInferResponse response;
        FillResponse(std::move(result).value(), response, in_shm);
        bool own_buffer;
        grpc::SerializationTraits<ModelInferResponse>::Serialize(response, r, &own_buffer);
      }
      reactor->Finish(grpc::Status::OK);
    });
    return reactor;
  }

  grpc::ServerBidiReactor<ModelInferRequest, ModelStreamInferResponse>* ModelStreamInfer(
      grpc::CallbackServerContext* c) override {
    if (Status s = ctx_.access.Check(AccessLevel::kInference, MetadataKey(*c)); !s.ok()) {
      if (ctx_.metrics) ctx_.metrics->RecordAccessDenied("grpc", HttpStatusFor(s.code()));
      return new RefusedStream(ToGrpc(s));
    }
    return new StreamReactor(backend_, shm_, MakeShmRequest(c->peer()));
  }

 private:
  // Triton's streaming extension: every request gets one ModelStreamInferResponse, in completion order
  // (clients match them by id); errors travel in error_message and the stream stays open.
  class StreamReactor final : public grpc::ServerBidiReactor<ModelInferRequest, ModelStreamInferResponse> {
   public:
    // `shm_access`: what this stream's peer may do with shared memory (registry or refusal); copied per
    // request.
    StreamReactor(KServeBackend& backend, SharedMemoryRegistry& shm, std::shared_ptr<ShmRequest> shm_access)
        : backend_(backend), shm_(shm), shm_access_(std::move(shm_access)) {
      StartRead(&request_);
    }

    void OnReadDone(bool ok) override {
      if (!ok) {
        bool finish;
        {
          std::lock_guard<std::recursive_mutex> lock(mu_);
          reads_done_ = true;
          finish = ShouldFinishLocked();
        }
        if (finish) Finish(grpc::Status::OK);
        return;
      }
      {
        std::lock_guard<std::recursive_mutex> lock(mu_);
        ++pending_;
      }
      KServeRequest request;
      std::deque<std::string> storage;
      auto shm = std::make_shared<ShmRequest>();
      shm->registry = shm_access_->registry;
      shm->refusal = shm_access_->refusal;
      Status s = ConvertRequest(request_, request, storage, *shm);
      const std::string id = request_.id();
      if (!s.ok()) {
        Complete(s, id);
      } else {
        backend_.Infer(request, [this, id, shm](StatusOr<KServeResponse> result) {
          std::vector<bool> in_shm;
          if (result.ok()) {
            Status written = WriteShmOutputs(shm->outputs, *result, in_shm);
            if (!written.ok()) result = std::move(written);
          }
          if (!result.ok()) return Complete(result.status(), id);
          ModelStreamInferResponse response;
          FillResponse(std::move(result).value(), *response.mutable_infer_response(), in_shm);
          Enqueue(std::move(response));
        });
      }
      StartRead(&request_);  // Infer copied what it needs, so request_ may be reused now
    }

    void OnWriteDone(bool) override {
      bool finish;
      {
        std::lock_guard<std::recursive_mutex> lock(mu_);
        queue_.pop_front();
        if (!queue_.empty()) {
          StartWrite(&queue_.front());
          return;
        }
        writing_ = false;
        finish = ShouldFinishLocked();
      }
      // Outside the lock: Finish may lead to OnDone, which deletes this reactor.
      if (finish) Finish(grpc::Status::OK);
    }

    void OnDone() override { delete this; }

   private:
    void Complete(const Status& s, const std::string& id) {
      ModelStreamInferResponse response;
      response.set_error_message(s.message());
      if (!id.empty()) response.mutable_infer_response()->set_id(id);
      Enqueue(std::move(response));
    }
    void Enqueue(ModelStreamInferResponse response) {
      std::lock_guard<std::recursive_mutex> lock(mu_);
      --pending_;
      queue_.push_back(std::move(response));
      if (!writing_) {
        writing_ = true;
        StartWrite(&queue_.front());
      }
    }
    bool ShouldFinishLocked() {
      if (reads_done_ && pending_ == 0 && !writing_ && !finished_) {
        finished_ = true;
        return true;
      }
      return false;
    }

    KServeBackend& backend_;
    SharedMemoryRegistry& shm_;
    const std::shared_ptr<const ShmRequest> shm_access_;
    ModelInferRequest request_;
    // Recursive: a reaction (OnWriteDone) may run inline from StartWrite on the same thread.
    std::recursive_mutex mu_;
    std::deque<ModelStreamInferResponse> queue_;  // front is being written; deque keeps it in place
    int pending_ = 0;
    bool reads_done_ = false;
    bool writing_ = false;
    bool finished_ = false;
  };

  // A stream refused before its first read: finishes at once with `status`.
  class RefusedStream final : public grpc::ServerBidiReactor<ModelInferRequest, ModelStreamInferResponse> {
   public:
    explicit RefusedStream(const grpc::Status& status) { Finish(status); }
    void OnDone() override { delete this; }
  };
  // Why `peer` may not use shared memory (PERMISSION_DENIED), or nullopt when it may.
  std::optional<grpc::Status> ShmRefusal(const std::string& peer) const {
    if (!shared_memory_)
      return grpc::Status(
          grpc::StatusCode::PERMISSION_DENIED,
          "system shared memory is disabled; start accel with --grpc-shared-memory true and "
          "--grpc-listen unix:PATH (same-host clients on the Unix socket only, see docs/kserve.md)");
    if (!IsUnixSocketPeer(peer))
      return grpc::Status(grpc::StatusCode::PERMISSION_DENIED,
                          "system shared memory is served only to clients on the server's Unix socket "
                          "(--grpc-listen unix:PATH); this call came from " +
                              peer);
    return std::nullopt;
  }
  std::shared_ptr<ShmRequest> MakeShmRequest(const std::string& peer) {
    auto shm = std::make_shared<ShmRequest>();
    if (auto refusal = ShmRefusal(peer))
      shm->refusal = refusal->error_message();
    else
      shm->registry = &shm_;
    return shm;
  }

  static grpc::ServerUnaryReactor* Done(grpc::CallbackServerContext* c, const grpc::Status& s) {
    auto* reactor = c->DefaultReactor();
    reactor->Finish(s);
    return reactor;
  }

  // The key in the call's metadata: `x-api-key: <key>` or `authorization: Bearer <key>`; "" when none.
  static std::string_view MetadataKey(const grpc::CallbackServerContext& c) {
    const auto& metadata = c.client_metadata();
    if (auto it = metadata.find("x-api-key"); it != metadata.end())
      return std::string_view(it->second.data(), it->second.size());
    if (auto it = metadata.find("authorization"); it != metadata.end())
      return BearerToken(std::string_view(it->second.data(), it->second.size()));
    return {};
  }

  // nullptr when the caller may use a method at `level`; otherwise the reactor, already finished with
  // UNAUTHENTICATED or PERMISSION_DENIED, for the method to return.
  grpc::ServerUnaryReactor* Refused(grpc::CallbackServerContext* c, AccessLevel level) {
    if (!ctx_.access.KeyRequired(level)) return nullptr;
    const Status s = ctx_.access.Check(level, MetadataKey(*c));
    if (s.ok()) return nullptr;
    if (ctx_.metrics) ctx_.metrics->RecordAccessDenied("grpc", HttpStatusFor(s.code()));
    return Done(c, ToGrpc(s));
  }

  ServiceContext& ctx_;
  KServeBackend& backend_;
  SharedMemoryRegistry& shm_;
  const bool zero_copy_;
  const bool shared_memory_;
};

// gRPC's Unix domain socket address schemes: same-host only, kept plaintext (see the header).
bool IsUnixSocketAddress(const std::string& address) {
  return address.rfind("unix:", 0) == 0 || address.rfind("unix-abstract:", 0) == 0;
}

}  // namespace

struct KServeGrpcServer::Impl {
  ServiceContext& ctx;
  KServeBackend& backend;
  Options options;
  std::unique_ptr<Service> service;
  std::unique_ptr<grpc::Server> server;
  int port = 0;
  std::mutex mu;
  SharedMemoryRegistry shm;  // the system shared memory extension's regions; emptied by Stop

  Impl(ServiceContext& c, KServeBackend& b, Options o)
      : ctx(c),
        backend(b),
        options(std::move(o)),
        shm(SharedMemoryRegistry::Options{.max_regions = options.shm_max_regions,
                                          .max_total_bytes = options.shm_max_bytes}) {}
};

KServeGrpcServer::KServeGrpcServer(ServiceContext& context, KServeBackend& backend, Options options)
    : impl_(new Impl(context, backend, std::move(options))) {}

KServeGrpcServer::~KServeGrpcServer() { Stop(); }

Status KServeGrpcServer::Start() {
  std::lock_guard<std::mutex> lock(impl_->mu);
  if (impl_->server) return FailedPrecondition("gRPC server already started");
  impl_->service = std::make_unique<Service>(impl_->ctx, impl_->backend, impl_->shm, impl_->options.zero_copy,
                                             impl_->options.shared_memory);
  if (impl_->options.tune_malloc) {
    // Every raw-tensor ModelInfer allocates several MiB-sized buffers (parsed request, input tensor, output,
    // serialised response). With glibc's defaults these are mmap()ed or trimmed back to the kernel after each
    // call and page-faulted in again on the next one, which measured ~1.3 ms per 2 MiB/1.2 MiB request
    // (bench/README.md, Protocols). Keeping them in the heap makes that memory reusable. Process-wide.
    mallopt(M_MMAP_THRESHOLD, 64 << 20);
    mallopt(M_TRIM_THRESHOLD, 256 << 20);
  }
  grpc::ServerBuilder builder;
  std::string host = impl_->options.host;
  if (host.find(':') != std::string::npos && host.front() != '[') host = "[" + host + "]";  // IPv6 literal
  // gRPC reports each address's outcome through its int only once BuildAndStart has run; a deque keeps
  // the ints where AddListeningPort was told they are.
  std::vector<std::string> addresses;
  if (impl_->options.port >= 0) addresses.push_back(host + ":" + std::to_string(impl_->options.port));
  for (const auto& a : impl_->options.listen_addresses) addresses.push_back(a);
  if (addresses.empty()) return InvalidArgument("gRPC server has no port and no listen address");
  std::vector<std::string> socket_paths;
  for (const auto& a : impl_->options.listen_addresses)
    if (std::string path = UnixSocketPath(a); !path.empty()) socket_paths.push_back(path);
  if (impl_->options.shared_memory && socket_paths.empty())
    return InvalidArgument(
        "--grpc-shared-memory needs a Unix socket (--grpc-listen unix:PATH): shared memory is served only to "
        "clients on it");
  const mode_t socket_mode = static_cast<mode_t>(impl_->options.unix_socket_mode) & 0777;
  if (socket_mode & 0007) return InvalidArgument("the gRPC Unix socket must not be accessible to others");
  std::shared_ptr<grpc::ServerCredentials> tcp_credentials = grpc::InsecureServerCredentials();
  if (impl_->options.tls.enabled()) {
    ACCEL_ASSIGN_OR_RETURN(TlsCredentials tls, LoadTlsCredentials(impl_->options.tls));
    grpc::SslServerCredentialsOptions ssl(tls.client_ca_pem.empty()
                                              ? GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE
                                              : GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
    ssl.pem_root_certs = tls.client_ca_pem;
    ssl.pem_key_cert_pairs.push_back({tls.private_key_pem, tls.cert_chain_pem});
    tcp_credentials = grpc::SslServerCredentials(ssl);
  }
  std::deque<int> selected;
  for (const auto& a : addresses) {
    selected.push_back(0);
    builder.AddListeningPort(a, IsUnixSocketAddress(a) ? grpc::InsecureServerCredentials() : tcp_credentials,
                             &selected.back());
  }
  builder.SetMaxReceiveMessageSize(impl_->options.max_message_bytes);
  builder.SetMaxSendMessageSize(impl_->options.max_message_bytes);
  if (impl_->options.http2_max_frame_size > 0)
    builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_FRAME_SIZE, impl_->options.http2_max_frame_size);
  builder.RegisterService(impl_->service.get());
  // The socket files are created by bind() inside BuildAndStart, with the process umask: narrowed for that
  // call so that no wider mode exists even for a moment, then set exactly by chmod. umask is process-wide: a
  // file another thread creates meanwhile gets a narrower mode, never a wider one.
  const mode_t old_umask = socket_paths.empty() ? 0 : umask(0777 & ~socket_mode);
  impl_->server = builder.BuildAndStart();
  if (!socket_paths.empty()) umask(old_umask);
  // A failed bind leaves its int at 0 (gRPC then may still start on the other addresses; we do not).
  for (size_t i = 0; i < addresses.size(); ++i) {
    if (impl_->server && selected[i] != 0) continue;
    if (impl_->server) {
      impl_->server->Shutdown();
      impl_->server->Wait();
    }
    impl_->server.reset();
    return Unavailable("cannot listen for gRPC on " + addresses[i] + " (address in use or not available)");
  }
  for (const auto& path : socket_paths) {
    if (chmod(path.c_str(), socket_mode) != 0) {
      const int error = errno;
      impl_->server->Shutdown();
      impl_->server->Wait();
      impl_->server.reset();
      return Unavailable("cannot set the permissions of the gRPC socket " + path + ": " +
                         std::strerror(error));
    }
  }
  impl_->port = impl_->options.port >= 0 ? selected[0] : 0;
  for (size_t i = 0; i < addresses.size(); ++i) {
    const bool tcp = impl_->options.port >= 0 && i == 0;
    const char* security = !impl_->options.tls.enabled() || IsUnixSocketAddress(addresses[i]) ? ""
                           : impl_->options.tls.client_ca_file.empty()                        ? " (TLS)"
                                                                       : " (TLS with client certificates)";
    ACCEL_LOG(kInfo, "kserve") << "KServe v2 gRPC listening on "
                               << (tcp ? host + ":" + std::to_string(selected[0]) : addresses[i]) << security;
  }
  return Status::Ok();
}

int KServeGrpcServer::port() const { return impl_->port; }

void KServeGrpcServer::Stop() {
  std::lock_guard<std::mutex> lock(impl_->mu);
  if (!impl_->server) return;
  impl_->server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  impl_->server->Wait();
  impl_->server.reset();
  impl_->shm.UnregisterAll();  // nothing in flight any more: unmap every region
}

}  // namespace accel
