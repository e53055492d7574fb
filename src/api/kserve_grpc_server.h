// KServe v2 / Open Inference Protocol over gRPC (service inference.GRPCInferenceService,
// proto/grpc_service.proto) on --grpc-port (default 8001). ServerLive, ServerReady, ModelReady,
// ServerMetadata, ModelMetadata, ModelInfer and ModelStreamInfer; requests go through the same KServeBackend
// as the HTTP front end. Inputs may come as raw_input_contents (the fast path) or typed contents; outputs
// always come back as raw_output_contents. ModelInfer is served through gRPC's raw (ByteBuffer) API so that
// raw tensor bytes are copied once on the way in and not at all on the way out (kserve_grpc_fast_path.h);
// wire bytes that are not a valid message get INVALID_ARGUMENT. System shared memory extension
// (SystemSharedMemoryStatus/Register/Unregister, shared_memory_registry.h): inputs and requested outputs
// whose parameters name a registered region ("shared_memory_region", "shared_memory_byte_size",
// "shared_memory_offset") are read from / written to it instead of raw contents; such outputs keep their
// metadata in the response but get no raw_output_contents entry. Regions are unmapped by Stop(). CUDA shared
// memory RPCs answer UNIMPLEMENTED. Shared memory is for same-user (or group) clients on the Unix socket
// only: see Options::shared_memory. Errors map from accel::StatusCode
// (GrpcCodeFor): INVALID_ARGUMENT, NOT_FOUND, UNAVAILABLE, RESOURCE_EXHAUSTED, DEADLINE_EXCEEDED, INTERNAL.
//
// TLS (Options::tls): the TCP port (and any TCP listen_addresses) take gRPC's SSL server credentials
// built from the same checked PEM files as the HTTP front end; with a client CA, clients must present a
// certificate it signed. Unix-socket addresses ("unix:...", "unix-abstract:...") stay plaintext: they are
// reachable only on this host, guarded by the socket file's permissions, and TLS there would cost every
// same-host client a handshake and encryption for no protection.
//
// This header deliberately includes no gRPC header: only kserve_grpc_server.cc and the generated code
// compile against grpc++ (slow to build).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "api/kserve_common.h"
#include "api/service_context.h"
#include "api/tls_credentials.h"
#include "core/status.h"

namespace accel {

class KServeGrpcServer {
 public:
  struct Options {
    std::string host = "0.0.0.0";
    int port = 8001;                   // 0: an ephemeral port, see port(); -1: no TCP port
    int max_message_bytes = 64 << 20;  // largest request or response message
    // Start() raises glibc's mmap and trim thresholds (mallopt, process-wide) so that the MiB-sized
    // buffers of raw-tensor calls are reused instead of page-faulted in anew per call. Off: leave malloc be.
    bool tune_malloc = true;
    // ModelInfer reads and writes raw_input_contents / raw_output_contents in gRPC's own buffers: the input
    // is copied once (wire slices -> Tensor), the output not at all. Off: protobuf parses and serialises the
    // whole message (three more MiB-sized copies per call); only for comparison (grpc_bench).
    bool zero_copy = true;
    // HTTP/2 SETTINGS_MAX_FRAME_SIZE the server advertises (16384..16777215; 0: gRPC's default, 16 KiB).
    // Larger frames let a client send a MiB-sized request in a few DATA frames instead of ~128; on loopback
    // the gain was within the noise (bench/README.md, Protocols), so it stays off by default.
    int http2_max_frame_size = 0;
    // Further listening addresses, bound in addition to host:port, e.g. "unix:/run/accel/grpc.sock" (a Unix
    // domain socket: same-host clients skip loopback TCP, see docs/kserve.md); gRPC replaces a stale socket
    // file at the path. Start() fails if any cannot be bound. Last, so brace-initialising the above stays
    // valid.
    std::vector<std::string> listen_addresses = {};
    // The system shared memory extension (SystemSharedMemoryRegister etc.). Off by default: a client that
    // registers a region makes the server map, read and overwrite a POSIX shm object. On, it is served only
    // to peers on a Unix-socket listener (a "unix:" address in listen_addresses, required; TCP peers get
    // PERMISSION_DENIED), only for objects owned by the server's user (shared_memory_registry.h), within the
    // caps below. Off: every shm RPC answers PERMISSION_DENIED and ServerMetadata does not list the
    // extension.
    bool shared_memory = false;
    size_t shm_max_regions = 64;                 // registered regions at most
    uint64_t shm_max_bytes = uint64_t{1} << 30;  // their byte sizes together at most
    // Permissions of every "unix:" socket file in listen_addresses, set as it is created (umask) and then
    // exactly (chmod): 0600 lets only the server's user connect, 0660 its group too. Bits for others are
    // refused by Start. Connecting needs write permission on the file, so these decide who can connect.
    int unix_socket_mode = 0600;
    // TLS on the TCP addresses when tls.enabled() (see above); off: plaintext everywhere.
    TlsFiles tls = {};
  };

  // `context` and `backend` must outlive the server.
  KServeGrpcServer(ServiceContext& context, KServeBackend& backend, Options options);
  ~KServeGrpcServer();  // Stop()
  KServeGrpcServer(const KServeGrpcServer&) = delete;
  KServeGrpcServer& operator=(const KServeGrpcServer&) = delete;

  // Binds and starts serving on gRPC's own threads. Unavailable when an address cannot be bound or its socket
  // file's mode cannot be set; InvalidArgument when there is nothing to listen on (port -1 and no
  // listen_addresses), when shared_memory is on without a "unix:" address, for a unix_socket_mode with bits
  // for others, or naming the file when a TLS file cannot be read or does not fit (LoadTlsCredentials).
  Status Start();
  int port() const;  // the bound TCP port after Start (the real one when Options::port was 0); 0 without
  // Stops accepting (listeners close; new calls on open channels are refused), lets calls in flight finish
  // for up to `grace`, then cancels what is left and waits. Idempotent. The graceful drain of `accel serve`
  // passes its drain timeout; other callers keep the short default.
  void Stop(std::chrono::milliseconds grace = std::chrono::seconds(2));

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace accel
