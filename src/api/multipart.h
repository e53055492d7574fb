// multipart/form-data (RFC 7578 over RFC 2046) and application/x-www-form-urlencoded bodies: how DeepStack
// and CodeProject.AI clients (Frigate, Blue Iris, Home Assistant) upload images.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"

namespace accel {

struct MultipartPart {
  std::string name;          // Content-Disposition name
  std::string filename;      // Content-Disposition filename (or decoded filename*), "" if none
  std::string content_type;  // the part's Content-Type, "" if none (RFC 7578 default: text/plain)
  std::string_view data;     // a view into the body given to ParseMultipart: keep that body alive
  std::vector<std::pair<std::string, std::string>> headers;  // all part headers, names as sent
};

// The boundary parameter of a multipart Content-Type header (quoted or not).
// UnsupportedMediaType when the type is not multipart/*; InvalidArgument when the boundary is missing or
// malformed.
StatusOr<std::string> MultipartBoundary(std::string_view content_type_header);

// Splits a multipart/form-data body into its parts, in order. Tolerates a preamble and an epilogue, bare LF
// line ends, and transport padding after delimiters. InvalidArgument (HTTP 400) with a precise message for
// a missing boundary, a body without the first delimiter, a truncated part or a missing closing delimiter.
StatusOr<std::vector<MultipartPart>> ParseMultipart(std::string_view body,
                                                    std::string_view content_type_header);

// The first part with this name, or nullptr.
const MultipartPart* FindPart(const std::vector<MultipartPart>& parts, std::string_view name);

// "a=1&b=x+y&c=%2F" -> {{"a","1"},{"b","x y"},{"c","/"}}, in order, duplicates kept. InvalidArgument on a
// malformed percent-escape.
StatusOr<std::vector<std::pair<std::string, std::string>>> ParseUrlEncodedForm(std::string_view body);

}  // namespace accel
