// Frigate's zmq detector protocol (api/zmq_detector_request.h): a message as the server's ROUTER socket
// receives it (identity, delimiter, JSON header, tensor; frames past the socket loop's cap dropped as it
// does) is split into envelope and body and parsed; a detection request it accepts goes through the detection
// pipeline on the fuzz service (fuzz_service.h), as the server does. Input: the frames, each a 2-byte
// little-endian length and its bytes (fuzz_input.h).
#include <cstddef>
#include <cstdint>

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
    if (!request.ok() || request->kind != ZmqRequest::Kind::kDetect) return 0;
    const Image& image = request->image;
    ACCEL_FUZZ_CHECK(image.rgb.size() == static_cast<size_t>(image.width) * image.height * 3);
    DetectionRequest detection;
    detection.image = std::move(request->image);
    (void)service.Detect(std::move(detection));
  }
  return 0;
}
