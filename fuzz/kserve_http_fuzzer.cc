// KServe v2 over HTTP, POST /v2/models/{m}[/versions/{v}]/infer (api/kserve_http_api.h): the path, the
// Inference-Header-Content-Length header and the JSON body with the binary tensor data extension, parsed as
// the route does; a request it accepts goes through KServeBackend::Infer on the fuzz service (fuzz_service.h:
// model "tiny" for raw tensors, "tiny-detect" for images) and its answer is rendered as the route renders it.
// Input: the path after /v2/models/, '\n', the header's value (empty: no header), '\n', the body.
#include <cstddef>
#include <cstdint>
#include <optional>

#include "api/kserve_http_api.h"
#include "fuzz_input.h"
#include "fuzz_service.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace accel;
  fuzz::FuzzService& service = fuzz::FuzzService::Get();
  std::string_view input = fuzz::AsText(data, size);
  const std::string prefix = "/v2/models/";
  const std::string path = prefix + std::string(fuzz::TakeLine(input));
  const std::string_view header = fuzz::TakeLine(input);
  const std::string_view body = input;

  std::string model, version, action;
  if (!ParseKServeModelPath(path, prefix, model, version, action).ok() || action != "infer") return 0;
  auto header_length = ParseInferenceHeaderLength(header);
  if (!header_length.ok()) return 0;
  KServeHttpParsed parsed;
  if (!ParseKServeHttpInfer(body, *header_length, parsed).ok()) return 0;
  for (const KServeInput& in : parsed.request.inputs) {
    // Views into the body or into the parser's own storage, nothing else.
    const bool in_body =
        in.data.data() >= body.data() && in.data.data() + in.data.size() <= body.data() + body.size();
    bool in_storage = false;
    for (const std::string& s : parsed.storage)
      in_storage = in_storage ||
                   (in.data.data() >= s.data() && in.data.data() + in.data.size() <= s.data() + s.size());
    ACCEL_FUZZ_CHECK(in.data.empty() || in_body || in_storage);
  }
  parsed.request.model = model;
  parsed.request.version = version;
  auto result = service.Infer(parsed.request);
  if (!result.ok()) return 0;
  std::optional<size_t> out_header_length;
  const std::string rendered = RenderKServeHttpResponse(*result, parsed, &out_header_length);
  ACCEL_FUZZ_CHECK(!out_header_length || *out_header_length <= rendered.size());
  return 0;
}
