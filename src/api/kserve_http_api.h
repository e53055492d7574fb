// KServe v2 / Open Inference Protocol over HTTP on the main port, shaped as Triton serves it:
//   GET  /v2                                    server metadata (name, version, extensions)
//   GET  /v2/health/live, /v2/health/ready      200 / 400, empty body
//   GET  /v2/models/{m}[/versions/{v}]          model metadata
//   GET  /v2/models/{m}[/versions/{v}]/ready    200 / 400, empty body
//   POST /v2/models/{m}[/versions/{v}]/infer    JSON tensors, with the binary tensor data extension
//   POST /v2/repository/index                   repository extension: models and their state
//   POST /v2/repository/models/{m}/load|unload
// Errors are {"error": "..."} with the project's status mapping (400 malformed, 404 unknown model, 503 no
// device / queues full with Retry-After, 500 our fault); see docs/kserve.md.
#pragma once

#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "api/http_router.h"
#include "api/kserve_common.h"
#include "api/service_context.h"

namespace accel {

// `context` and `backend` must outlive the router.
void RegisterKServeRoutes(HttpRouter& router, ServiceContext& context, KServeBackend& backend);

// Splits "<prefix>{m}[/versions/{v}][/action]" (e.g. prefix "/v2/models/") into the model (percent-decoded),
// version and action ("" for metadata). InvalidArgument without a model name, NotFound for more segments.
Status ParseKServeModelPath(const std::string& raw_path, const std::string& prefix, std::string& model,
                            std::string& version, std::string& action);

// The Inference-Header-Content-Length header's value: nullopt when empty (absent); InvalidArgument when it
// is not a decimal number that fits size_t.
StatusOr<std::optional<size_t>> ParseInferenceHeaderLength(std::string_view header);

// The body of an HTTP infer request (exposed for unit tests): JSON, optionally followed by binary tensor
// data when `header_length` (Inference-Header-Content-Length) is given. On success `request` views into
// `storage` and `body`, which must outlive it. binary_outputs: names of outputs asked for as binary data;
// all_binary: the request-level binary_data_output parameter.
struct KServeHttpParsed {
  KServeRequest request;
  std::deque<std::string> storage;  // bytes decoded from JSON "data" (deque: views stay valid)
  std::vector<std::string> binary_outputs;
  std::vector<std::string> json_outputs;  // outputs explicitly asked for with binary_data false
  bool all_binary = false;
};
Status ParseKServeHttpInfer(std::string_view body, std::optional<size_t> header_length,
                            KServeHttpParsed& parsed);

// Renders a response: JSON only, or JSON header plus binary data (then `header_length` is set and the
// caller sends Inference-Header-Content-Length and application/octet-stream).
std::string RenderKServeHttpResponse(const KServeResponse& response, const KServeHttpParsed& parsed,
                                     std::optional<size_t>* header_length);

}  // namespace accel
