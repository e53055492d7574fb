// KServe v2 over gRPC, ModelInfer (api/kserve_grpc_request.h): the input is a serialised ModelInferRequest.
// It goes through both paths the server has: the zero-copy one (ConvertModelInferWire on the message cut into
// several segments, as gRPC delivers large messages in slices: the hand-written wire walker of
// kserve_grpc_fast_path.h) and the protobuf one (ModelStreamInfer, and ModelInfer without zero copy). A
// request either accepts goes through KServeBackend::Infer on the fuzz service (fuzz_service.h: model "tiny"
// for raw tensors, "tiny-detect" for images). Shared memory parameters meet an empty registry.
#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

#include "api/kserve_grpc_request.h"
#include "fuzz_input.h"
#include "fuzz_service.h"

namespace {

// Segments of 1, 2, ... 16 bytes and an empty one, over and over: every field straddles slice boundaries.
std::vector<std::string_view> Segments(std::string_view bytes) {
  std::vector<std::string_view> segments;
  size_t length = 0;
  while (!bytes.empty()) {
    length = length % 17;
    const std::string_view s = bytes.substr(0, length);
    segments.push_back(s);
    bytes.remove_prefix(s.size());
    ++length;
  }
  return segments;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace accel;
  fuzz::FuzzService& service = fuzz::FuzzService::Get();
  static const SharedMemoryRegistry* const kNoRegions = new SharedMemoryRegistry();
  const std::string_view bytes = fuzz::AsText(data, size);
  {
    inference::ModelInferRequest header;
    KServeRequest request;
    std::deque<std::string> storage;
    KServeShmRequest shm;
    shm.registry = kNoRegions;
    if (ConvertModelInferWire(WireSegments(Segments(bytes)), header, request, storage, shm).ok())
      (void)service.Infer(request);
  }
  {
    inference::ModelInferRequest message;
    KServeRequest request;
    std::deque<std::string> storage;
    KServeShmRequest shm;
    shm.registry = kNoRegions;
    if (message.ParseFromArray(data, static_cast<int>(size)) &&
        ConvertModelInferRequest(message, request, storage, shm).ok())
      (void)service.Infer(request);
  }
  return 0;
}
