#include "pipeline/detection_pipeline.h"

#include <future>
#include <limits>
#include <optional>

#include "cache/result_cache.h"
#include "core/decoder_families.h"
#include "vision/classification.h"
#include "vision/decoder.h"
#include "vision/preprocess.h"

namespace accel {
namespace {

// The lookup whose answer may run inline on this pool thread: the one this thread is inside of. Any other
// answer (Redis's threads, a flight finishing elsewhere) goes back to the pool.
thread_local const void* inline_lookup = nullptr;

// What the cache stores: everything the model found, before any request's filter. Threshold 0 is raised to
// the model's decoder.min_confidence by the decoders (CandidateThreshold). Filtering this afterwards gives
// what decoding with the request's filter gives: NMS keeps a box or not by higher-scoring boxes only, all of
// which pass any threshold the box passes, and targets and max_results apply after NMS. (Classifications:
// see ApplyClassificationFilter.)
DetectionFilter ModelLevelFilter() {
  return DetectionFilter{.threshold = 0.f, .targets = {}, .max_results = -1};
}

// The model-level part of a result (before the request's filter), as the cache keeps it; FromCache is its
// inverse: a field added to one belongs in the other.
std::shared_ptr<CachedResult> ToCache(const DetectionResult& result) {
  auto cached = std::make_shared<CachedResult>();
  cached->task = result.task;
  cached->detections = result.detections;
  cached->classifications = result.classifications;
  cached->image_width = result.image_width;
  cached->image_height = result.image_height;
  cached->device_id = result.device_id;
  cached->engine_kind = result.engine_kind;
  cached->simulated = result.simulated;
  return cached;
}

DetectionResult FromCache(const CachedResult& cached, const ModelConfig& model, const DetectionFilter& filter,
                          SteadyTime start) {
  DetectionResult result;
  result.model = model.name;
  result.task = cached.task;
  result.detections = cached.detections;
  ApplyFilter(result.detections, filter);
  result.classifications = cached.classifications;
  ApplyClassificationFilter(result.classifications, filter, model.decoder.top_k);
  result.image_width = cached.image_width;
  result.image_height = cached.image_height;
  result.device_id = cached.device_id;
  result.engine_kind = cached.engine_kind;
  result.simulated = cached.simulated;
  result.batch_size = 1;
  result.attempts = 0;
  result.cache = CacheStatus::kHit;
  result.total_ms = MillisBetween(start, Clock::Real()->Now());
  return result;
}

}  // namespace

std::string_view CacheStatusName(CacheStatus status) {
  switch (status) {
    case CacheStatus::kHit:
      return "hit";
    case CacheStatus::kMiss:
      return "miss";
    case CacheStatus::kBypass:
      return "bypass";
  }
  return "bypass";
}

DetectionPipeline::DetectionPipeline(Scheduler* scheduler, ThreadPool* pool, std::string default_model,
                                     ImageLimits limits, ResultCache* cache)
    : scheduler_(scheduler),
      pool_(pool),
      default_model_(std::move(default_model)),
      limits_(limits),
      cache_(cache) {}

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
  if (!cache_ || !request.use_cache) {
    if (cache_) cache_->RecordBypass();
    pool_->Post([this, request = std::move(request), done = std::move(done), model, start]() mutable {
      Run(std::move(request), model, start, CacheStatus::kBypass, nullptr, std::move(done));
    });
    return;
  }
  // Hashing the image (and, the first time, the model's weights) happens on the pool, not here.
  pool_->Post([this, request = std::move(request), done = std::move(done), model, start]() mutable {
    const CacheKey model_key = cache_->ModelKey(model);
    const CacheKey key = request.image ? DecodedImageKey(model_key, *request.image)
                                       : EncodedImageKey(model_key, request.encoded);
    struct Waiting {
      DetectionRequest request;
      DetectionDone done;
    };
    auto waiting = std::make_shared<Waiting>(Waiting{std::move(request), std::move(done)});
    const void* previous = inline_lookup;
    inline_lookup = waiting.get();
    cache_->Lookup(key, [this, model, start, waiting](CacheLookup lookup) {
      if (lookup.value) {
        return waiting->done(FromCache(*lookup.value, *model, waiting->request.filter, start));
      }
      auto run = [this, model, start, waiting, ticket = std::move(lookup.ticket)]() mutable {
        Run(std::move(waiting->request), model, start, CacheStatus::kMiss, std::move(ticket),
            std::move(waiting->done));
      };
      if (inline_lookup == waiting.get()) {
        inline_lookup = nullptr;  // this thread now runs the request; nested answers go to the pool
        run();
      } else {
        pool_->Post(std::move(run));
      }
    });
    inline_lookup = previous;
  });
}

void DetectionPipeline::Run(DetectionRequest request, std::shared_ptr<const ModelConfig> model,
                            SteadyTime start, CacheStatus cache_status, std::shared_ptr<FlightTicket> ticket,
                            DetectionDone done) {
  auto result = std::make_shared<DetectionResult>();
  result->model = model->name;
  result->task = model->task;
  result->cache = cache_status;
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
      ticket.reset();  // before answering: identical requests waiting for this one compute for themselves
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
    ticket.reset();
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
  scheduler_->Submit(
      options, std::move(input),
      [result, model, transform, filter = std::move(request.filter), ticket = std::move(ticket),
       done = std::move(done), start](StatusOr<InferenceResult> inference) mutable {
        if (!inference.ok()) {
          ticket.reset();
          done(inference.status());
          return;
        }
        // Head decoding is light (a few hundred microseconds): it runs on the thread that completed the
        // inference rather than paying a second hop to the pool.
        const SteadyTime t3 = Clock::Real()->Now();
        // With a ticket the model-level result is decoded, cached, and filtered afterwards.
        const DetectionFilter& decode_filter = ticket ? ModelLevelFilter() : filter;
        if (model->decoder.family == kClassificationFamily) {
          // Cached: every class at or above the model's minimum confidence, not only its top_k, since
          // top_k counts only the classes a request's targets let through.
          std::optional<ModelConfig> every_class;
          if (ticket) {
            every_class = *model;
            every_class->decoder.top_k = std::numeric_limits<int>::max();
          }
          auto classes =
              DecodeClassification(every_class ? *every_class : *model, inference->outputs, decode_filter);
          if (!classes.ok()) {
            ticket.reset();
            return done(classes.status());
          }
          result->classifications = std::move(classes).value();
        } else {
          auto detections = DecodeDetections(*model, inference->outputs, transform, decode_filter);
          if (!detections.ok()) {
            ticket.reset();
            return done(detections.status());
          }
          result->detections = std::move(detections).value();
        }
        result->device_id = inference->device_id;
        result->engine_kind = inference->engine_kind;
        result->simulated = inference->simulated;
        result->batch_size = inference->batch_size;
        result->attempts = inference->attempts;
        result->queue_ms = inference->queue_ms;
        result->inference_ms = inference->compute_ms;
        if (ticket) {
          ticket->Complete(ToCache(*result));
          ticket.reset();
          ApplyFilter(result->detections, filter);
          ApplyClassificationFilter(result->classifications, filter, model->decoder.top_k);
        }
        const SteadyTime t4 = Clock::Real()->Now();
        result->postprocess_ms = MillisBetween(t3, t4);
        result->total_ms = MillisBetween(start, t4);
        done(std::move(*result));
      });
}

StatusOr<DetectionResult> DetectionPipeline::DetectSync(DetectionRequest request) {
  std::promise<StatusOr<DetectionResult>> promise;
  auto future = promise.get_future();
  Detect(std::move(request), [&promise](StatusOr<DetectionResult> r) { promise.set_value(std::move(r)); });
  return future.get();
}

}  // namespace accel
