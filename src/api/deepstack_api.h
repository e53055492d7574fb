// The DeepStack / CodeProject.AI API, as Frigate's `deepstack` detector, Blue Iris, Agent DVR and the Home
// Assistant integrations call it:
//   POST /v1/vision/detection          the default model (or the form's model_name)
//   POST /v1/vision/custom/{model}     the named model (CodeProject.AI's custom models)
//   POST /v1/vision/custom/list        {"models": [names of the loaded models]}
//   GET  /v1/server/status/ping, /v1/status/ping                     aliveness, with the server version
//   GET  /v1/server/status/updateavailable, /v1/status/updateavailable  always "no update" (Accel does not
//                                                                       check online)
// Detection requests are multipart (`image`, optional `min_confidence` (default 0.4), `api_key`, and the
// fields of /ai/infer). Predictions come sorted by confidence, descending, with integer pixel boxes, at most
// ServiceContext::deepstack_max_predictions of them unless the request sets max_results. Every response
// carries CodeProject.AI's envelope: success, code, command, moduleId, moduleName, requestId,
// inferenceDevice, processMs, inferenceMs, analysisRoundTripMs, processedBy, timestampUTC.
#pragma once

#include "api/http_router.h"
#include "api/service_context.h"

namespace accel {

void RegisterDeepStackRoutes(HttpRouter& router, ServiceContext& context);

}  // namespace accel
