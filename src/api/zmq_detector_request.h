// The client side of Frigate's zmq detector protocol (zmq_detector_server.h) as plain functions on frames:
// how a message the ROUTER socket received splits into envelope and body, and what the body asks for. Apart
// from the server so that it can be tested and fuzzed without sockets (fuzz/zmq_detector_fuzzer.cc).
// Thread-compatible, no global state.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "core/status.h"
#include "vision/image.h"

namespace accel {

using ZmqFrames = std::vector<std::string>;

// A request has identity, delimiter, header and tensor: the socket loop reads and drops frames past this
// many, so a message of a million empty frames costs nothing (the body then has the wrong frame count).
inline constexpr size_t kZmqMaxFrames = 8;

// A message as the ROUTER socket delivers it: the peer's identity, then (from a REQ peer) an empty delimiter
// frame, then the request. The envelope is everything up to and including the first empty frame, or only the
// identity frame when there is none; the body is the rest. Replies go back on the envelope. An empty message
// (which the socket never delivers) has neither.
struct ZmqMessage {
  ZmqFrames envelope;
  ZmqFrames body;
};
ZmqMessage SplitZmqEnvelope(ZmqFrames frames);

struct ZmqRequestOptions {
  ImageLimits limits;  // checked from the shape before anything is allocated
  bool bgr = false;    // tensors arrive BGR (Frigate input_pixel_format: bgr)
};

// What a message body asks for: [{"model_request": true, ...}], [{"model_data": true, ...}, bytes], or
// [{"shape": [...], "dtype": ...}, tensor] (then `image` holds the tensor as RGB).
struct ZmqRequest {
  enum class Kind { kModelRequest, kModelData, kDetect };
  Kind kind = Kind::kDetect;
  std::string model_name;  // kModelRequest / kModelData: the header's model_name ("" if none)
  Image image;
};

// InvalidArgument (PayloadTooLarge for a tensor over the limits) with the message the server sends back in
// its error reply: an empty body, a header that is not a JSON object or has a wrongly typed field, a
// detection request without exactly 2 frames, or a tensor the shape and dtype do not describe (see
// zmq_detector_server.h for the accepted ones).
StatusOr<ZmqRequest> ParseZmqRequest(const ZmqFrames& body, const ZmqRequestOptions& options);

}  // namespace accel
