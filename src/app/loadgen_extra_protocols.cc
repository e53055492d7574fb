#include "app/loadgen_extra_protocols.h"

#include <mutex>

#include "app/loadgen_command.h"
#include "app/loadgen_grpc_protocol.h"
#include "app/loadgen_zmq_protocol.h"

namespace accel {

void RegisterExtraBenchProtocols() {
  static std::once_flag once;
  std::call_once(once, [] {
    using Made = StatusOr<std::unique_ptr<BenchProtocol>>;
    RegisterBenchProtocol("grpc",
                          [](const BenchProtocolOptions& o) -> Made { return MakeGrpcBenchProtocol(o); });
    RegisterBenchProtocol("zmq",
                          [](const BenchProtocolOptions& o) -> Made { return MakeZmqBenchProtocol(o); });
  });
}

}  // namespace accel
