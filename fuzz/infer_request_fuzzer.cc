// The seed API's POST /ai/infer and DeepStack's POST /v1/vision/detection: ParseInferRequest
// (api/infer_request_parser.h) on JSON (nested-array or base64 image), multipart forms, url-encoded forms and
// raw image bodies, then, for a request it accepts, the detection pipeline on the fuzz service's sim device
// (fuzz_service.h), as both routes do. Input: the Content-Type header's value, '\n', the query string
// (without '?'), '\n', the body.
#include <cstddef>
#include <cstdint>

#include "api/infer_request_parser.h"
#include "fuzz_input.h"
#include "fuzz_service.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace accel;
  fuzz::FuzzService& service = fuzz::FuzzService::Get();
  std::string_view input = fuzz::AsText(data, size);
  HttpRequest request;
  request.method = "POST";
  request.path = "/ai/infer";
  request.headers.emplace_back("Content-Type", std::string(fuzz::TakeLine(input)));
  request.query = std::string(fuzz::TakeLine(input));
  request.body = std::string(input);
  auto parsed = ParseInferRequest(request, service.context().infer_options);
  if (!parsed.ok()) return 0;
  const DetectionRequest& d = parsed->detection;
  ACCEL_FUZZ_CHECK(d.encoded.empty() != !d.image.has_value());
  ACCEL_FUZZ_CHECK(d.filter.threshold >= 0 && d.filter.threshold <= 1);
  (void)service.Detect(std::move(parsed->detection));
  return 0;
}
