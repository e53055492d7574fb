// Base64 (RFC 4648) for image payloads in JSON APIs. Decoding is deliberately lenient about form and strict
// about content: it takes the standard and the URL-safe alphabet (even mixed), padding or none, and skips
// whitespace and line breaks (MIME-wrapped input), but rejects any other character with its offset.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace accel {

// InvalidArgument on a character outside both alphabets, misplaced padding, or a length that cannot be
// base64 (one stray character in the last group). Empty input decodes to an empty vector.
StatusOr<std::vector<uint8_t>> Base64Decode(std::string_view text);

// Standard alphabet with padding; url_safe: '-' and '_' without padding.
std::string Base64Encode(const uint8_t* data, size_t size, bool url_safe = false);
std::string Base64Encode(std::string_view data, bool url_safe = false);

// "data:image/jpeg;base64,/9j/..." -> "/9j/..." (a view into text). Text without a data-URL prefix comes
// back unchanged. If media_type is given it receives "image/jpeg" (empty when there was no prefix).
std::string_view StripDataUrlPrefix(std::string_view text, std::string* media_type = nullptr);

}  // namespace accel
