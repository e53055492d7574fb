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
#include "api/kserve_grpc_request.h"
#include "api/protobuf_log.h"
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
Status WriteShmOutputs(const std::vector<KServeShmOutput>& targets, const KServeResponse& response,
                       std::vector<bool>& in_shm) {
  in_shm.assign(response.outputs.size(), false);
  if (targets.empty()) return Status::Ok();
  for (size_t i = 0; i < response.outputs.size(); ++i) {
    const KServeOutput& o = response.outputs[i];
    for (const KServeShmOutput& t : targets) {
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

// Everything of the response but the output bytes (raw_output_contents).
void FillResponseHeader(const KServeResponse& in, ModelInferResponse& out) {
  out.set_model_name(in.model);
  out.set_model_version(in.version);
  if (!in.id.empty()) out.set_id(in.id);
  auto& params = *out.mutable_parameters();
  params["device"].set_string_param(in.device_id);
  params["engine"].set_string_param(in.engine_kind);
  params["simulated"].set_bool_param(in.simulated);
  params["cache"].set_string_param(in.cache);
  for (const auto& o : in.outputs) {
    auto* t = out.add_outputs();
    t->set_name(o.name);
    t->set_datatype(o.datatype);
    for (int64_t d : o.shape) t->add_shape(d);
  }
}

// The zero-copy request path: gRPC's slices of the message, read in place (ConvertModelInferWire).
Status ConvertWireRequest(const grpc::ByteBuffer& wire, ModelInferRequest& header, KServeRequest& out,
                          std::deque<std::string>& storage, KServeShmRequest& shm) {
  std::vector<grpc::Slice> slices;
  if (!wire.Dump(&slices).ok()) return InvalidArgument("cannot read the request message");
  std::vector<std::string_view> segments;
  segments.reserve(slices.size());
  for (const auto& s : slices) segments.emplace_back(reinterpret_cast<const char*>(s.begin()), s.size());
  // Nothing in `out` views the slices: ConvertModelInferWire copies raw contents into a Tensor or `storage`.
  return ConvertModelInferWire(WireSegments(std::move(segments)), header, out, storage, shm);
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
              ? ConvertModelInferRequest(header, request, storage, *shm)
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
    return new StreamReactor(backend_, MakeShmRequest(c->peer()));
  }

 private:
  // Triton's streaming extension: every request gets one ModelStreamInferResponse, in completion order
  // (clients match them by id); errors travel in error_message and the stream stays open.
  class StreamReactor final : public grpc::ServerBidiReactor<ModelInferRequest, ModelStreamInferResponse> {
   public:
    // `shm_access`: what this stream's peer may do with shared memory (registry or refusal); copied per
    // request.
    StreamReactor(KServeBackend& backend, std::shared_ptr<KServeShmRequest> shm_access)
        : backend_(backend), shm_access_(std::move(shm_access)) {
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
      auto shm = std::make_shared<KServeShmRequest>();
      shm->registry = shm_access_->registry;
      shm->refusal = shm_access_->refusal;
      Status s = ConvertModelInferRequest(request_, request, storage, *shm);
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
    const std::shared_ptr<const KServeShmRequest> shm_access_;
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
  std::shared_ptr<KServeShmRequest> MakeShmRequest(const std::string& peer) {
    auto shm = std::make_shared<KServeShmRequest>();
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
  RouteProtobufLogs();
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

void KServeGrpcServer::Stop(std::chrono::milliseconds grace) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  if (!impl_->server) return;
  impl_->server->Shutdown(std::chrono::system_clock::now() + grace);
  impl_->server->Wait();
  impl_->server.reset();
  impl_->shm.UnregisterAll();  // nothing in flight any more: unmap every region
}

}  // namespace accel
