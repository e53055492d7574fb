// The request half of the KServe gRPC ModelInfer / ModelStreamInfer calls: a ModelInferRequest (parsed by
// protobuf, or as wire bytes for the zero-copy path) checked and turned into the protocol-neutral
// KServeRequest that KServeBackend::Infer takes. Kept apart from kserve_grpc_server.cc so that it needs
// protobuf's generated messages but no gRPC runtime, and can be tested and fuzzed on plain bytes
// (fuzz/kserve_grpc_fuzzer.cc). Thread-compatible, no global state.
#pragma once

#include <deque>
#include <string>
#include <vector>

#include "api/kserve_common.h"
#include "api/kserve_grpc_fast_path.h"
#include "api/shared_memory_registry.h"
#include "core/status.h"
#include "grpc_service.pb.h"

namespace accel {

// A requested output that goes into shared memory instead of raw_output_contents.
struct KServeShmOutput {
  std::string name;
  SharedMemoryRegistry::Mapping window;
};

// What a conversion needs for, and learns about, the system shared memory extension.
struct KServeShmRequest {
  const SharedMemoryRegistry* registry = nullptr;  // null: shm parameters are refused, with `refusal`
  std::string refusal;
  bool refused = false;  // set when a request named a region although registry is null: PERMISSION_DENIED
  std::vector<KServeShmOutput> outputs;
};

// `request` -> `out`. `out` views `request` (raw_input_contents) and `storage` (typed contents and shm
// inputs, appended here), which must outlive it. InvalidArgument for anything the client got wrong: unknown
// datatype, shape too large, contents that do not match the shape, a parameter without value, ...
Status ConvertModelInferRequest(const inference::ModelInferRequest& request, KServeRequest& out,
                                std::deque<std::string>& storage, KServeShmRequest& shm);

// The zero-copy path on a serialised ModelInferRequest. Splits it into raw_input_contents and the rest
// (parsed by protobuf into `header`: small). A single raw FP32/UINT8/... input whose byte count matches its
// shape is copied from `wire` straight into the Tensor the scheduler will get (KServeInput::tensor, the only
// user-space copy of the input); any other raw contents are gathered into `storage` and go through the same
// checks as ConvertModelInferRequest, so every error message is the same. Nothing in `out` views `wire`;
// `header` and `storage` must outlive `out`. Sets KServeRequest::outputs_as_tensors.
Status ConvertModelInferWire(const WireSegments& wire, inference::ModelInferRequest& header,
                             KServeRequest& out, std::deque<std::string>& storage, KServeShmRequest& shm);

}  // namespace accel
