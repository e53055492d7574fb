// `accel bench --api zmq`: Frigate's zmq detector protocol (src/api/zmq_detector_server.h). Kept out of
// loadgen_command.cc so that only this library compiles against libzmq.
#pragma once

#include <memory>

#include "app/loadgen_command.h"

namespace accel {

// Each input image is decoded and resized (stretched, as Frigate hands over a square region) to 320x320 RGB
// uint8 once at Prepare. A client is a REQ socket connected to options.zmq_endpoint and sends
// [{"shape": [1,320,320,3], "dtype": "uint8", "model_type": "yolox"}, tensor]. A reply of one 480-byte
// frame (20x6 float32 rows) is a success (code 200); a [header with "error", zeros] reply is an error
// (code 400, the server's message); a timeout or socket error is a transport failure (code 0), after which
// the socket is recreated (a REQ socket cannot send again before it has received).
std::unique_ptr<BenchProtocol> MakeZmqBenchProtocol(const BenchProtocolOptions& options);

}  // namespace accel
