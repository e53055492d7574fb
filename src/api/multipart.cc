#include "api/multipart.h"

#include <optional>

#include "api/http_types.h"

namespace accel {
namespace {

constexpr size_t kMaxBoundary = 70;  // RFC 2046
constexpr size_t kMaxPartHeaders = 64;

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// Parses `value; key=value; key="quoted \" value"` into the leading value and its parameters (keys lower
// case). Semicolons inside quotes do not split.
struct HeaderValue {
  std::string value;
  std::vector<std::pair<std::string, std::string>> params;
  std::optional<std::string> Param(std::string_view key) const {
    for (const auto& [k, v] : params) {
      if (k == key) return v;
    }
    return std::nullopt;
  }
};

HeaderValue ParseHeaderValue(std::string_view text) {
  HeaderValue result;
  size_t i = 0;
  size_t semi = text.find(';');
  result.value = std::string(Trim(text.substr(0, semi)));
  i = semi == std::string_view::npos ? text.size() : semi + 1;
  while (i < text.size()) {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\t' || text[i] == ';')) ++i;
    size_t key_start = i;
    while (i < text.size() && text[i] != '=' && text[i] != ';') ++i;
    std::string key = Lower(Trim(text.substr(key_start, i - key_start)));
    std::string value;
    if (i < text.size() && text[i] == '=') {
      ++i;
      while (i < text.size() && (text[i] == ' ' || text[i] == '\t')) ++i;
      if (i < text.size() && text[i] == '"') {
        ++i;
        while (i < text.size() && text[i] != '"') {
          if (text[i] == '\\' && i + 1 < text.size()) ++i;
          value.push_back(text[i++]);
        }
        if (i < text.size()) ++i;  // closing quote
        while (i < text.size() && text[i] != ';') ++i;
      } else {
        size_t value_start = i;
        while (i < text.size() && text[i] != ';') ++i;
        value = std::string(Trim(text.substr(value_start, i - value_start)));
      }
    }
    if (!key.empty()) result.params.emplace_back(std::move(key), std::move(value));
  }
  return result;
}

// RFC 5987 ext-value: "UTF-8''na%C3%AFve.jpg" -> "naïve.jpg" (charset not converted: UTF-8 is assumed).
std::optional<std::string> DecodeExtValue(std::string_view v) {
  size_t first = v.find('\'');
  if (first == std::string_view::npos) return std::nullopt;
  size_t second = v.find('\'', first + 1);
  if (second == std::string_view::npos) return std::nullopt;
  auto decoded = UrlDecodeStrict(v.substr(second + 1), /*plus_as_space=*/false);
  if (!decoded.ok()) return std::nullopt;
  return std::move(decoded).value();
}

// A delimiter is "--boundary" at the start of a line, followed by "--" (the close), whitespace or a line end.
// Returns the offset of the line start before it (the CR or LF that belongs to the delimiter) so the part's
// data ends there, and sets *after to the first byte after "--boundary". npos when none is found.
size_t FindDelimiter(std::string_view body, std::string_view dash_boundary, size_t from, size_t* after) {
  while (from <= body.size()) {
    size_t hit = body.find(dash_boundary, from);
    if (hit == std::string_view::npos) return std::string_view::npos;
    size_t end = hit + dash_boundary.size();
    bool at_line_start = hit == 0 || body[hit - 1] == '\n';
    bool well_ended = end == body.size() || body[end] == '-' || body[end] == '\r' || body[end] == '\n' ||
                      body[end] == ' ' || body[end] == '\t';
    if (at_line_start && well_ended) {
      *after = end;
      size_t line_start = hit;
      if (line_start > 0 && body[line_start - 1] == '\n') {
        --line_start;
        if (line_start > 0 && body[line_start - 1] == '\r') --line_start;
      }
      return line_start;
    }
    from = hit + 1;
  }
  return std::string_view::npos;
}

// Reads one line starting at *pos (ending in CRLF or LF); false when the body ends first.
bool ReadLine(std::string_view body, size_t* pos, std::string_view* line) {
  size_t lf = body.find('\n', *pos);
  if (lf == std::string_view::npos) return false;
  size_t end = lf;
  if (end > *pos && body[end - 1] == '\r') --end;
  *line = body.substr(*pos, end - *pos);
  *pos = lf + 1;
  return true;
}

}  // namespace

StatusOr<std::string> MultipartBoundary(std::string_view content_type_header) {
  HeaderValue header = ParseHeaderValue(content_type_header);
  std::string type = Lower(header.value);
  if (type.rfind("multipart/", 0) != 0) {
    return UnsupportedMediaType("expected a multipart/form-data body, got content type '" +
                                std::string(content_type_header.substr(0, 100)) + "'");
  }
  auto boundary = header.Param("boundary");
  if (!boundary || boundary->empty()) {
    return InvalidArgument("multipart content type has no boundary parameter");
  }
  if (boundary->size() > kMaxBoundary) {
    return InvalidArgument("multipart boundary longer than 70 characters");
  }
  for (char c : *boundary) {
    if (c == '\r' || c == '\n' || c == '\0') {
      return InvalidArgument("multipart boundary contains a line break");
    }
  }
  return std::move(*boundary);
}

StatusOr<std::vector<MultipartPart>> ParseMultipart(std::string_view body,
                                                    std::string_view content_type_header) {
  ACCEL_ASSIGN_OR_RETURN(std::string boundary, MultipartBoundary(content_type_header));
  const std::string dash_boundary = "--" + boundary;

  size_t after = 0;
  if (FindDelimiter(body, dash_boundary, 0, &after) == std::string_view::npos) {
    return InvalidArgument("multipart body does not contain the boundary '" + boundary + "'");
  }
  std::vector<MultipartPart> parts;
  for (;;) {
    // `after` is just past "--boundary" of a delimiter line.
    if (body.substr(after, 2) == "--") return parts;  // close delimiter; the epilogue is ignored
    size_t pos = after;
    while (pos < body.size() && (body[pos] == ' ' || body[pos] == '\t')) ++pos;  // transport padding
    if (pos < body.size() && body[pos] == '\r') ++pos;
    if (pos >= body.size()) {
      return InvalidArgument("truncated multipart body: missing closing delimiter '" + dash_boundary + "--'");
    }
    if (body[pos] != '\n') {
      return InvalidArgument("malformed multipart delimiter line after part " + std::to_string(parts.size()));
    }
    ++pos;

    MultipartPart part;
    std::string_view line;
    for (;;) {
      if (!ReadLine(body, &pos, &line)) {
        return InvalidArgument("truncated multipart body: headers of part " + std::to_string(parts.size()) +
                               " do not end");
      }
      if (line.empty()) break;
      if (part.headers.size() >= kMaxPartHeaders) {
        return InvalidArgument("too many headers in multipart part " + std::to_string(parts.size()));
      }
      size_t colon = line.find(':');
      if (colon == std::string_view::npos || colon == 0) {
        return InvalidArgument("malformed header line in multipart part " + std::to_string(parts.size()));
      }
      part.headers.emplace_back(std::string(Trim(line.substr(0, colon))),
                                std::string(Trim(line.substr(colon + 1))));
    }
    for (const auto& [name, value] : part.headers) {
      if (EqualsIgnoreCase(name, "content-disposition")) {
        HeaderValue disposition = ParseHeaderValue(value);
        if (auto n = disposition.Param("name")) part.name = std::move(*n);
        if (auto f = disposition.Param("filename")) part.filename = std::move(*f);
        if (auto f = disposition.Param("filename*")) {
          if (auto decoded = DecodeExtValue(*f)) part.filename = std::move(*decoded);
        }
      } else if (EqualsIgnoreCase(name, "content-type")) {
        part.content_type = value;
      }
    }

    size_t data_end = FindDelimiter(body, dash_boundary, pos > 0 ? pos - 1 : 0, &after);
    // The search starts one byte early so an empty part's delimiter (whose LF may be the last header LF)
    // is found; data_end can then precede pos.
    if (data_end == std::string_view::npos) {
      return InvalidArgument("truncated multipart body: part " + std::to_string(parts.size()) +
                             " has no closing delimiter '" + dash_boundary + "'");
    }
    part.data = data_end > pos ? body.substr(pos, data_end - pos) : std::string_view(body.data() + pos, 0);
    parts.push_back(std::move(part));
  }
}

const MultipartPart* FindPart(const std::vector<MultipartPart>& parts, std::string_view name) {
  for (const auto& part : parts) {
    if (part.name == name) return &part;
  }
  return nullptr;
}

StatusOr<std::vector<std::pair<std::string, std::string>>> ParseUrlEncodedForm(std::string_view body) {
  std::vector<std::pair<std::string, std::string>> fields;
  while (!body.empty()) {
    size_t amp = body.find('&');
    std::string_view pair = body.substr(0, amp);
    body = amp == std::string_view::npos ? std::string_view() : body.substr(amp + 1);
    while (!pair.empty() && (pair.back() == '\r' || pair.back() == '\n')) pair.remove_suffix(1);
    if (pair.empty()) continue;
    size_t eq = pair.find('=');
    ACCEL_ASSIGN_OR_RETURN(std::string key, UrlDecodeStrict(pair.substr(0, eq), true));
    std::string value;
    if (eq != std::string_view::npos) {
      ACCEL_ASSIGN_OR_RETURN(value, UrlDecodeStrict(pair.substr(eq + 1), true));
    }
    fields.emplace_back(std::move(key), std::move(value));
  }
  return fields;
}

}  // namespace accel
