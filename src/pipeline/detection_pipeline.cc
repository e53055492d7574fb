#include "pipeline/detection_pipeline.h"

#include <future>

#include "core/decoder_families.h"
#include "vision/classification.h"
#include "vision/decoder.h"
#include "vision/preprocess.h"

namespace accel {

DetectionPipeline::DetectionPipeline(Scheduler* scheduler, ThreadPool* pool, std::string default_model,
                                     ImageLimits limits)
    : scheduler_(scheduler), pool_(pool), default_model_(std::move(default_model)), limits_(limits) {}

void DetectionPipeline::Detect(DetectionRequest request, DetectionDone done) {
  const SteadyTime start = Clock::Real()->Now();
  if (request.model.empty()) request.model = default_model_;
  std::shared_ptr<const ModelConfig> model = scheduler_->FindModel(request.model);
  if (!model) {
    done(NotFound("model '" + request.model + "' is not loaded"));
    return;
  }
  const bool classification = model->decoder.family == kClassificationFamily;
  if (classification && !request.accept_classification) {
    done(InvalidArgument(
        "model '" + request.model +
        "' is a classification model: this API returns boxes; use /ai/infer or the tensor API "
        "(/v2)"));
    return;
  }
  if (!classification && (model->task != "detection" || model->decoder.family == "raw")) {
    done(InvalidArgument("model '" + request.model + "' is not a detection model; use the tensor API (/v2)"));
    return;
  }
  pool_->Post([this, request = std::move(request), done = std::move(done), model, start]() mutable {
    auto result = std::make_shared<DetectionResult>();
    result->model = model->name;
    result->task = model->task;
    const SteadyTime t0 = Clock::Real()->Now();
    Image image;
    if (request.image) {
      image = std::move(*request.image);
    } else {
      DecodeOptions options;
      options.limits = limits_;
      options.min_width = model->input.width;
      options.min_height = model->input.height;
      auto decoded = DecodeImage(reinterpret_cast<const uint8_t*>(request.encoded.data()),
                                 request.encoded.size(), options);
      if (!decoded.ok()) {
        done(decoded.status());
        return;
      }
      image = std::move(decoded).value();
    }
    const SteadyTime t1 = Clock::Real()->Now();
    result->image_width = image.original_width;
    result->image_height = image.original_height;
    LetterboxTransform transform;
    auto tensor = PrepareInput(image, model->input, &transform);
    if (!tensor.ok()) {
      done(tensor.status());
      return;
    }
    const SteadyTime t2 = Clock::Real()->Now();
    result->decode_ms = MillisBetween(t0, t1);
    result->preprocess_ms = MillisBetween(t1, t2);

    InferenceOptions options;
    options.model = model->name;
    options.engine = request.engine.empty() ? "auto" : request.engine;
    options.deadline = request.deadline;
    auto input = std::make_shared<const Tensor>(std::move(tensor).value());
    scheduler_->Submit(options, std::move(input),
                       [this, result, model, transform, filter = std::move(request.filter),
                        done = std::move(done), start](StatusOr<InferenceResult> inference) mutable {
                         if (!inference.ok()) {
                           done(inference.status());
                           return;
                         }
                         // Head decoding is light (a few hundred microseconds): it runs on the thread
                         // that completed the inference rather than paying a second hop to the pool.
                         const SteadyTime t3 = Clock::Real()->Now();
                         if (model->decoder.family == kClassificationFamily) {
                           auto classes = DecodeClassification(*model, inference->outputs, filter);
                           if (!classes.ok()) return done(classes.status());
                           result->classifications = std::move(classes).value();
                         } else {
                           auto detections = DecodeDetections(*model, inference->outputs, transform, filter);
                           if (!detections.ok()) return done(detections.status());
                           result->detections = std::move(detections).value();
                         }
                         result->device_id = inference->device_id;
                         result->engine_kind = inference->engine_kind;
                         result->simulated = inference->simulated;
                         result->batch_size = inference->batch_size;
                         result->attempts = inference->attempts;
                         result->queue_ms = inference->queue_ms;
                         result->inference_ms = inference->compute_ms;
                         const SteadyTime t4 = Clock::Real()->Now();
                         result->postprocess_ms = MillisBetween(t3, t4);
                         result->total_ms = MillisBetween(start, t4);
                         done(std::move(*result));
                       });
  });
}

StatusOr<DetectionResult> DetectionPipeline::DetectSync(DetectionRequest request) {
  std::promise<StatusOr<DetectionResult>> promise;
  auto future = promise.get_future();
  Detect(std::move(request), [&promise](StatusOr<DetectionResult> r) { promise.set_value(std::move(r)); });
  return future.get();
}

}  // namespace accel
