// Frigate's `zmq` detector protocol (frigate/detectors/plugins/zmq_ipc.py), served on --zmq-endpoint
// (default tcp://0.0.0.0:5555; ipc:// paths work too). Frigate holds a REQ socket; we bind a ROUTER so that
// several Frigate detectors (or processes) are served concurrently, each answered on its own envelope, and
// each with the model it asked for.
//
// Messages (every JSON header is UTF-8):
//   [{"model_request": true, "model_name": ...}]  -> [{"model_available": bool, "model_loaded": bool,
//       "model_name": ..., "server": "accel"[, "error": why not]}], answered at once. model_name (Frigate
//       sends the base name of its model path) is matched against the models' names and their artifacts'
//       file names (LookupModel): available = such a model is loaded or in the repository, loaded = it is
//       loaded and servable. The client's tensors then go to that model (remembered per ROUTER identity);
//       a client that never shakes hands gets Options::model. (Frigate starts detecting only when both are
//       true; when the model is unknown it sends the file.)
//   [{"model_data": true, "model_name": ...}, bytes] -> [{"model_saved": bool, "model_loaded": bool,
//       "model_name": ...[, "error": why not]}]. Refused unless Options::accept_models_dir is set; then the
//       file is checked (ONNX only), saved under that folder (ZmqModelStore) and loaded, off the socket
//       thread, one upload at a time, and the sender's tensors go to it.
//   [{"shape": [...], "dtype": "uint8"|"float32", "model_type": ...}, tensor] -> one frame of 20x6 float32
//       rows [class_id, score, y_min, x_min, y_max, x_max], normalised to the tensor's width/height, sorted
//       by score, zero rows after the last detection. Accepted tensors: one 3-channel image, [1,H,W,3] or
//       [H,W,3] (NHWC) or [1,3,H,W] (NCHW); uint8 0..255, or float32 in 0..1 (Frigate's input_dtype float) or
//       0..255 (float_denorm). Pixel order RGB unless Options::bgr. Any size: it is letterboxed to the
//       model's input like every image (a size other than the model's is logged once).
//   Anything malformed, a tensor the chosen model cannot take, or a model that is not loaded ->
//       [{"shape": [20, 6], "dtype": "float32", "error": "..."}, 480 zero bytes], at once: Frigate decodes
//       that as "no detections" (it returns zeros on any error itself) and other clients see why. Refusals
//       are logged at most once per 10 s, with the number not logged.
// Class ids are the model's (COCO-80, 0-based: Frigate's /labelmap/coco-80.txt), or, when a label map file
// is given, the id that file gives the detection's label (detections whose label it lacks are skipped).
#pragma once

#include <memory>
#include <string>

#include "api/service_context.h"
#include "core/status.h"

namespace accel {

class ZmqDetectorServer {
 public:
  struct Options {
    std::string endpoint = "tcp://0.0.0.0:5555";
    std::string model;                    // empty: the pipeline's default model
    float threshold = kDefaultThreshold;  // Frigate ignores rows under 0.4 anyway (it stops at the first one)
    bool bgr = false;                     // tensors arrive BGR (Frigate input_pixel_format: bgr)
    std::string labelmap_path;  // Frigate-format label map ("<id> <label>" per line); empty: model ids
    // Work still queued this long after arrival is dropped before it reaches a device: Frigate has given up
    // on it (request_timeout_ms, default 200) and computing it would only delay the requests that follow.
    int deadline_ms = 200;
    // Larger messages are refused by libzmq itself (ZMQ_MAXMSGSIZE: the peer is disconnected before the
    // frame is buffered). 32 MiB holds a 1920x1080 float32 RGB tensor; Frigate sends 320x320 uint8 (300 KB).
    int64_t max_message_bytes = 32 << 20;
    // Folder for model uploads (ZmqModelStore); empty: uploads are refused. Uploads are bounded by
    // max_message_bytes (libzmq drops larger frames) and by max_uploaded_models.
    std::string accept_models_dir;
    size_t max_uploaded_models = 16;
  };

  // `context` must outlive the server.
  ZmqDetectorServer(ServiceContext& context, Options options);
  ~ZmqDetectorServer();  // Stop()
  ZmqDetectorServer(const ZmqDetectorServer&) = delete;
  ZmqDetectorServer& operator=(const ZmqDetectorServer&) = delete;

  // Binds the endpoint and starts the socket thread. Unavailable when it cannot bind or create the upload
  // folder, InvalidArgument for a malformed endpoint or unreadable label map.
  Status Start();
  // The endpoint actually bound (tcp://...:0 resolves to the chosen port).
  std::string bound_endpoint() const;
  // Stops the socket thread, then waits for a model upload being loaded; replies still in flight are dropped
  // (Frigate times out and retries). Idempotent.
  void Stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace accel
