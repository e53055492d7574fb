#include "api/http_types.h"

#include <nlohmann/json.hpp>

namespace accel {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

char LowerAscii(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

// Shared by the lenient and strict decoders; returns false on a bad escape only when strict.
bool Decode(std::string_view text, bool plus_as_space, bool strict, std::string* out) {
  out->clear();
  out->reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '+' && plus_as_space) {
      out->push_back(' ');
    } else if (c == '%') {
      int hi = i + 1 < text.size() ? HexValue(text[i + 1]) : -1;
      int lo = i + 2 < text.size() ? HexValue(text[i + 2]) : -1;
      if (hi < 0 || lo < 0) {
        if (strict) return false;
        out->push_back('%');
        continue;
      }
      out->push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else {
      out->push_back(c);
    }
  }
  return true;
}

}  // namespace

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (LowerAscii(a[i]) != LowerAscii(b[i])) return false;
  }
  return true;
}

std::string_view HttpRequest::Header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (EqualsIgnoreCase(key, name)) return value;
  }
  return {};
}

std::optional<std::string> HttpRequest::QueryParam(std::string_view name) const {
  std::string_view rest = query;
  while (!rest.empty()) {
    size_t amp = rest.find('&');
    std::string_view pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
    if (pair.empty()) continue;
    size_t eq = pair.find('=');
    std::string_view raw_key = pair.substr(0, eq);
    std::string_view raw_value = eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
    if (UrlDecode(raw_key, true) == name) return UrlDecode(raw_value, true);
  }
  return std::nullopt;
}

std::string UrlDecode(std::string_view text, bool plus_as_space) {
  std::string out;
  Decode(text, plus_as_space, /*strict=*/false, &out);
  return out;
}

StatusOr<std::string> UrlDecodeStrict(std::string_view text, bool plus_as_space) {
  std::string out;
  if (!Decode(text, plus_as_space, /*strict=*/true, &out)) {
    return InvalidArgument("malformed percent-escape in '" + std::string(text.substr(0, 100)) + "'");
  }
  return out;
}

HttpResponse JsonErrorResponse(int status, std::string_view message) {
  HttpResponse response;
  response.status = status;
  nlohmann::ordered_json body = {{"success", false}, {"error", std::string(message)}};
  // Replace rather than throw on invalid UTF-8 coming from client input echoed in the message.
  response.body = body.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
  return response;
}

HttpResponse JsonErrorResponse(const Status& status) {
  HttpResponse response = JsonErrorResponse(HttpStatusFor(status.code()), status.message());
  if (status.code() == StatusCode::kResourceExhausted) response.headers.emplace_back("Retry-After", "1");
  return response;
}

}  // namespace accel
