// `accel bench --api grpc`: KServe v2 ModelInfer over gRPC (proto/grpc_service.proto). Kept out of
// loadgen_command.cc so that only this library compiles against grpc++.
#pragma once

#include <memory>

#include "app/loadgen_command.h"

namespace accel {

// Detect entry point: ModelInfer on "<model>-detect" with the encoded image as the BYTES input "image" in
// raw_input_contents (4-byte length prefix + file). With options.model_native: the model's input tensor
// (raw FP32/UINT8 bytes) on "<model>". Each client holds its own channel to options.grpc_url (host:port),
// so concurrency N means N HTTP/2 connections, like N HTTP keep-alive connections. BenchOutcome::code is
// the gRPC status code (0 = OK is reported as 200 so that the code table reads like the HTTP ones).
std::unique_ptr<BenchProtocol> MakeGrpcBenchProtocol(const BenchProtocolOptions& options);

}  // namespace accel
