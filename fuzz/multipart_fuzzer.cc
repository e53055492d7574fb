// multipart/form-data and application/x-www-form-urlencoded bodies (api/multipart.h), as DeepStack and
// CodeProject.AI clients upload images. Input: the Content-Type header's value, '\n', the body. Checks that
// every part's data is a view inside the body, as the parser promises.
#include <cstddef>
#include <cstdint>

#include "api/multipart.h"
#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace accel;
  std::string_view body = fuzz::AsText(data, size);
  const std::string_view content_type = fuzz::TakeLine(body);
  (void)MultipartBoundary(content_type);
  auto parts = ParseMultipart(body, content_type);
  if (parts.ok()) {
    for (const MultipartPart& part : *parts) {
      ACCEL_FUZZ_CHECK(part.data.empty() ||
                       (part.data.data() >= body.data() &&
                        part.data.data() + part.data.size() <= body.data() + body.size()));
    }
    (void)FindPart(*parts, "image");
  }
  (void)ParseUrlEncodedForm(body);
  return 0;
}
