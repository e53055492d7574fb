// Turns an HTTP request to /ai/infer or /v1/vision/* into a DetectionRequest. Accepts:
//   application/json                   {"image": H x W x 3 nested uint8 array | "image_base64": "...",
//   fields} multipart/form-data                file field `image` plus the same fields as form fields
//   application/x-www-form-urlencoded  image_base64=... plus fields
//   image/jpeg, image/png              the raw file as body, fields in the query string
// Fields: model_name (or model), engine, threshold (or min_confidence), targets (JSON array or
// comma-separated), max_results, timeout_ms, api_key, cache (false: not answered from or stored in the
// result cache; a Cache-Control: no-cache or no-store header does the same). Every problem is a 4xx Status
// with a message that names the field.
#pragma once

#include <string>
#include <vector>

#include "api/http_types.h"
#include "core/status.h"
#include "pipeline/detection_pipeline.h"

namespace accel {

struct InferParseOptions {
  float default_threshold = kDefaultThreshold;
  // Detections kept when the request sets no max_results; negative: no limit.
  int default_max_results = DetectionFilter{}.max_results;
  std::string default_engine = "auto";
  std::vector<std::string> known_engines;  // kinds a client may name besides "auto"
  ImageLimits limits;
};

// X-Accel-Cache: what the result cache did for a request (hit, miss, bypass), on every HTTP route that
// runs an inference.
inline constexpr const char* kCacheHeader = "X-Accel-Cache";
// Whether the request's Cache-Control header asks not to be answered from a cache (no-cache or no-store).
bool CacheControlNoCache(const HttpRequest& request);

struct ParsedInferRequest {
  DetectionRequest detection;
  std::string api_key;  // as sent, for the caller to check
};

StatusOr<ParsedInferRequest> ParseInferRequest(const HttpRequest& request, const InferParseOptions& options);

}  // namespace accel
