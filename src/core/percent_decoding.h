// Percent-decoding of a URL's user information ("p%40ss" -> "p@ss"), shared by the URL parsers of the
// Redis cache, the Redis Streams output and the MQTT output.
#pragma once

#include <string>
#include <string_view>

#include "core/status.h"

namespace accel {

// Strict: a '%' not followed by two hex digits is InvalidArgument, whose message starts with `what`
// (e.g. "REDIS_URL", "MQTT URL") and never repeats the text (it may hold a password).
StatusOr<std::string> PercentDecodeUserInfo(std::string_view text, std::string_view what);

}  // namespace accel
