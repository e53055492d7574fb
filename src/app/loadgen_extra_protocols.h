// The `accel bench` protocols that live outside loadgen_command.cc (gRPC, ZMQ): one call registers them all.
#pragma once

namespace accel {

// Registers "grpc" (loadgen_grpc_protocol.h) and "zmq" (loadgen_zmq_protocol.h) with RegisterBenchProtocol.
// Idempotent and thread-safe; `accel bench` calls it before parsing its options.
void RegisterExtraBenchProtocols();

}  // namespace accel
