// DetectionPipeline: the path every detection request takes, whatever protocol it came in by:
//   decode image -> letterbox to the model's input -> scheduler (device, batching, retries) -> decode the
//   head -> NMS -> labels -> filter.
// CPU work (decode, letterbox, head decoding) runs on a ThreadPool so that network I/O threads stay free.
// It lives apart from src/api because it knows no wire format, and apart from src/scheduler because the
// scheduler knows tensors, not images.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/status.h"
#include "core/thread_pool.h"
#include "scheduler/scheduler.h"
#include "vision/classification.h"
#include "vision/detection.h"
#include "vision/image.h"

namespace accel {

struct DetectionRequest {
  std::string model;            // empty: the pipeline's default model
  std::string engine = "auto";  // "auto" or an engine kind
  DetectionFilter filter;
  std::optional<SteadyTime> deadline;
  // Whether the caller can render classification results (DetectionResult::classifications). Front ends
  // that only know boxes leave it false, and a classification model then fails with InvalidArgument
  // rather than answering an empty list of boxes.
  bool accept_classification = false;
  // Exactly one of these: encoded JPEG/PNG bytes, or an already decoded RGB image.
  std::string encoded;
  std::optional<Image> image;
};

struct DetectionResult {
  std::string model;
  // The model's task: "detection" fills `detections`, "classification" fills `classifications`.
  std::string task = "detection";
  std::vector<Detection> detections;
  std::vector<Classification> classifications;
  int image_width = 0;  // original image size
  int image_height = 0;
  std::string device_id;
  std::string engine_kind;
  bool simulated = false;
  int batch_size = 1;
  int attempts = 1;
  // Milliseconds. decode: image decoding; preprocess: letterbox + tensor; queue: waiting for a device;
  // inference: on the device; postprocess: head decoding, NMS, filter; total: from Detect() to done.
  double decode_ms = 0, preprocess_ms = 0, queue_ms = 0, inference_ms = 0, postprocess_ms = 0, total_ms = 0;
};

using DetectionDone = std::function<void(StatusOr<DetectionResult>)>;

class DetectionPipeline {
 public:
  // `scheduler` and `pool` must outlive the pipeline.
  DetectionPipeline(Scheduler* scheduler, ThreadPool* pool, std::string default_model, ImageLimits limits);

  // Asynchronous; `done` is called exactly once from a pool, worker or engine thread. Thread-safe.
  void Detect(DetectionRequest request, DetectionDone done);
  // Blocking convenience (CLI, validate, tests).
  StatusOr<DetectionResult> DetectSync(DetectionRequest request);

  const std::string& default_model() const { return default_model_; }
  const ImageLimits& limits() const { return limits_; }

 private:
  Scheduler* scheduler_;
  ThreadPool* pool_;
  std::string default_model_;
  ImageLimits limits_;
};

}  // namespace accel
