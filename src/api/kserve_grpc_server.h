// KServe v2 / Open Inference Protocol over gRPC (service inference.GRPCInferenceService, proto/grpc_service.proto)
// on --grpc-port (default 8001). ServerLive, ServerReady, ModelReady, ServerMetadata, ModelMetadata,
// ModelInfer and ModelStreamInfer; requests go through the same KServeBackend as the HTTP front end.
// Inputs may come as raw_input_contents (the fast path) or typed contents; outputs always come back as
// raw_output_contents. Errors map from accel::StatusCode (GrpcCodeFor): INVALID_ARGUMENT, NOT_FOUND,
// UNAVAILABLE, RESOURCE_EXHAUSTED, DEADLINE_EXCEEDED, INTERNAL.
//
// This header deliberately includes no gRPC header: only kserve_grpc_server.cc and the generated code
// compile against grpc++ (slow to build).
#pragma once

#include <memory>
#include <string>

#include "api/kserve_common.h"
#include "api/service_context.h"
#include "core/status.h"

namespace accel {

class KServeGrpcServer {
 public:
  struct Options {
    std::string host = "0.0.0.0";
    int port = 8001;                       // 0: an ephemeral port, see port()
    int max_message_bytes = 64 << 20;      // largest request or response message
    // Start() raises glibc's mmap and trim thresholds (mallopt, process-wide) so that the MiB-sized
    // buffers of raw-tensor calls are reused instead of page-faulted in anew per call. Off: leave malloc be.
    bool tune_malloc = true;
  };

  // `context` and `backend` must outlive the server.
  KServeGrpcServer(ServiceContext& context, KServeBackend& backend, Options options);
  ~KServeGrpcServer();  // Stop()
  KServeGrpcServer(const KServeGrpcServer&) = delete;
  KServeGrpcServer& operator=(const KServeGrpcServer&) = delete;

  // Binds and starts serving on gRPC's own threads. Unavailable when the port cannot be bound.
  Status Start();
  int port() const;  // the bound port after Start (the real one when Options::port was 0)
  // Stops accepting, cancels what is in flight after a short grace period, waits. Idempotent.
  void Stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace accel
