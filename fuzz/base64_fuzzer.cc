// Base64 and data-URL payloads (api/base64.h) as the seed API, DeepStack forms and KServe read them: the
// input is the text a client sent. Also checks the round trips: what decodes re-encodes (standard and
// URL-safe) to text that decodes to the same bytes, and any bytes survive encode + decode.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>

#include "api/base64.h"
#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace accel;
  const std::string_view text = fuzz::AsText(data, size);
  std::string media_type;
  const std::string_view payload = StripDataUrlPrefix(text, &media_type);
  ACCEL_FUZZ_CHECK(payload.data() >= text.data() &&
                   payload.data() + payload.size() <= text.data() + text.size());
  auto decoded = Base64Decode(payload);
  if (decoded.ok()) {
    for (bool url_safe : {false, true}) {
      auto again = Base64Decode(Base64Encode(decoded->data(), decoded->size(), url_safe));
      ACCEL_FUZZ_CHECK(again.ok() && *again == *decoded);
    }
  }
  auto round_trip = Base64Decode(Base64Encode(data, size));
  ACCEL_FUZZ_CHECK(round_trip.ok() && round_trip->size() == size &&
                   std::equal(round_trip->begin(), round_trip->end(), data));
  return 0;
}
