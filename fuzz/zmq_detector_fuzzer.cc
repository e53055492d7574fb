// Frigate's zmq detector protocol (api/zmq_detector_request.h): a message as the server's ROUTER socket
// receives it (identity, delimiter, JSON header, tensor; frames past the socket loop's cap dropped as it
// does) is split into envelope and body and parsed (a detection request's tensor as RGB and as BGR). A
// handshake looks up the model it names among the loaded ones (api/model_lookup.h); a detection request's
// image goes through the detection pipeline on the fuzz service (fuzz_service.h), as the server does.
// Uploads stop at parsing: storing one writes files (onnx_upload_fuzzer feeds its checks). Input: the frames,
// each a 2-byte little-endian length and its bytes (fuzz_input.h).
#include <cstddef>
#include <cstdint>

#include "api/model_lookup.h"
#include "api/zmq_detector_request.h"
#include "fuzz_input.h"
#include "fuzz_service.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace accel;
  fuzz::FuzzService& service = fuzz::FuzzService::Get();
  ZmqFrames frames = fuzz::SplitFrames(fuzz::AsText(data, size));
  if (frames.size() > kZmqMaxFrames) frames.resize(kZmqMaxFrames);
  const size_t count = frames.size();
  ZmqMessage message = SplitZmqEnvelope(std::move(frames));
  ACCEL_FUZZ_CHECK(message.envelope.size() + message.body.size() == count);
  ACCEL_FUZZ_CHECK(count == 0 || !message.envelope.empty());
  for (bool bgr : {false, true}) {
    auto request = ParseZmqRequest(message.body, {service.context().pipeline->limits(), bgr});
    if (!request.ok()) return 0;
    if (request->kind == ZmqRequest::Kind::kModelRequest) {
      // The handshake's lookup (no repository folder: no files read).
      const ModelLookup found = LookupModel(*service.context().scheduler, {}, request->model_name);
      ACCEL_FUZZ_CHECK(found.available == !found.model.empty());
      return 0;
    }
    if (request->kind != ZmqRequest::Kind::kDetect) return 0;
    const Image& image = request->image;
    ACCEL_FUZZ_CHECK(image.rgb.size() == static_cast<size_t>(image.width) * image.height * 3);
    DetectionRequest detection;
    detection.image = std::move(request->image);
    (void)service.Detect(std::move(detection));
  }
  return 0;
}
