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
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/status.h"
#include "core/thread_pool.h"
#include "scheduler/scheduler.h"
#include "vision/classification.h"
#include "vision/detection.h"
#include "vision/image.h"

namespace accel {

class FlightTicket;
class ResultCache;

// What the result cache did for one request (X-Accel-Cache on HTTP, `cached` in the seed API).
//   kHit:    answered from the cache (memory, Redis, or an identical request computed at the same time); this
//            request ran no inference of its own;
//   kMiss:   looked up, not found, computed (and stored for the next one);
//   kBypass: the cache was not consulted (it is off, or the request opted out).
enum class CacheStatus { kBypass, kMiss, kHit };
std::string_view CacheStatusName(CacheStatus status);  // "bypass", "miss", "hit"

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
  // False: the result cache is neither read nor written for this request ("cache": false, Cache-Control:
  // no-cache, /ai/validate which compares engines).
  bool use_cache = true;
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
  // On a hit, device_id, engine_kind and simulated say where the cached result was computed, and the stage
  // timings are 0: only total_ms was spent on this request.
  CacheStatus cache = CacheStatus::kBypass;
};

using DetectionDone = std::function<void(StatusOr<DetectionResult>)>;

class DetectionPipeline {
 public:
  // `scheduler`, `pool` and `cache` must outlive the pipeline. `cache` null: no result cache (every request
  // reports kBypass). With a cache, the pipeline looks each request up by its model and image bytes; on a
  // miss it decodes the model's outputs at the model's own minimum confidence, stores that, and applies the
  // request's filter afterwards, so a request with another threshold or targets can be answered from it.
  DetectionPipeline(Scheduler* scheduler, ThreadPool* pool, std::string default_model, ImageLimits limits,
                    ResultCache* cache = nullptr);

  // Asynchronous; `done` is called exactly once from a pool, worker or engine thread. Thread-safe.
  void Detect(DetectionRequest request, DetectionDone done);
  // Blocking convenience (CLI, validate, tests).
  StatusOr<DetectionResult> DetectSync(DetectionRequest request);

  const std::string& default_model() const { return default_model_; }
  const ImageLimits& limits() const { return limits_; }
  ResultCache* cache() const { return cache_; }

 private:
  // Decode, letterbox, inference, head decoding, filter. With a ticket, decodes unfiltered, completes the
  // ticket with that, then filters.
  void Run(DetectionRequest request, std::shared_ptr<const ModelConfig> model, SteadyTime start,
           CacheStatus cache_status, std::shared_ptr<FlightTicket> ticket, DetectionDone done);

  Scheduler* scheduler_;
  ThreadPool* pool_;
  std::string default_model_;
  ImageLimits limits_;
  ResultCache* cache_;
};

}  // namespace accel
