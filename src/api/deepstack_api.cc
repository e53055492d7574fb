#include "api/deepstack_api.h"

#include <nlohmann/json.hpp>

#include <cmath>

#include "api/ai_api.h"
#include "api/infer_request_parser.h"
#include "api/json_views.h"
#include "metrics/accel_metrics.h"

namespace accel {
namespace {

using nlohmann::json;

// DeepStack clients expect `code` beside `success`; errors keep the project-wide shape plus `code`.
HttpResponse DeepStackError(const Status& status) {
  HttpResponse r = JsonErrorResponse(status);
  json body = json::parse(r.body, nullptr, false);
  if (body.is_object()) {
    body["code"] = r.status;
    r.body = body.dump();
  }
  return r;
}

json PredictionsJson(const DetectionResult& result) {
  json preds = json::array();
  // Detections arrive sorted by confidence, descending (DetectionFilter); clients rely on that order.
  for (const auto& d : result.detections) {
    preds.push_back({{"label", d.label},
                     {"confidence", Round(d.confidence, 4)},
                     {"x_min", static_cast<int>(std::lround(d.box.x_min))},
                     {"y_min", static_cast<int>(std::lround(d.box.y_min))},
                     {"x_max", static_cast<int>(std::lround(d.box.x_max))},
                     {"y_max", static_cast<int>(std::lround(d.box.y_max))}});
  }
  return preds;
}

}  // namespace

void RegisterDeepStackRoutes(HttpRouter& router, ServiceContext& ctx) {
  router.Add("POST", "/v1/vision/detection", kInferenceBodyKeyRoute,
             [&ctx](HttpRequest&& request, HttpResponder respond) {
               const SteadyTime started = Clock::Real()->Now();
               auto parsed = ParseInferRequest(request, ctx.infer_options);
               if (!parsed.ok()) {
                 RecordApiRequest(ctx, "deepstack", "", "", HttpStatusFor(parsed.status().code()), started);
                 return respond(DeepStackError(parsed.status()));
               }
               if (Status key = CheckBodyKey(ctx.access, request, parsed->api_key); !key.ok()) {
                 RecordApiRequest(ctx, "deepstack", "", "", HttpStatusFor(key.code()), started);
                 if (ctx.metrics) ctx.metrics->RecordAccessDenied("http", HttpStatusFor(key.code()));
                 return respond(AccessDeniedResponse(key));
               }
               ctx.pipeline->Detect(
                   std::move(parsed->detection),
                   [&ctx, respond = std::move(respond), started](StatusOr<DetectionResult> result) {
                     RecordDetection(ctx, "deepstack", result, started);
                     if (!result.ok()) return respond(DeepStackError(result.status()));
                     const double process_ms = MillisBetween(started, Clock::Real()->Now());
                     json body = {{"success", true},
                                  {"code", 200},
                                  {"predictions", PredictionsJson(*result)},
                                  {"count", result->detections.size()},
                                  {"inferenceMs", static_cast<int>(std::lround(result->inference_ms))},
                                  {"processMs", static_cast<int>(std::lround(process_ms))},
                                  {"moduleId", "accel"},
                                  {"processedBy", result->device_id},
                                  {"inferenceDevice", result->engine_kind},
                                  {"simulated", result->simulated}};
                     HttpResponse r;
                     r.body = body.dump();
                     respond(std::move(r));
                   });
             });
}

}  // namespace accel
