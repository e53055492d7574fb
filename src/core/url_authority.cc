#include "core/url_authority.h"

#include <charconv>

namespace accel {
namespace {

// Strict: a '%' not followed by two hex digits is an error.
StatusOr<std::string> PercentDecodeUserInfo(std::string_view text, std::string_view what) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out.push_back(text[i]);
      continue;
    }
    unsigned value = 0;
    if (i + 2 >= text.size() ||
        std::from_chars(text.data() + i + 1, text.data() + i + 3, value, 16).ptr != text.data() + i + 3)
      return InvalidArgument(std::string(what) + ": bad percent-encoding in the user information");
    out.push_back(static_cast<char>(value));
    i += 2;
  }
  return out;
}

StatusOr<int> Port(std::string_view text, std::string_view what) {
  int value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || value < 1 || value > 65535)
    return InvalidArgument(std::string(what) + ": port '" + std::string(text) +
                           "' is not a number in 1..65535");
  return value;
}

}  // namespace

StatusOr<UrlAuthority> ParseUrlAuthority(std::string_view rest, std::string_view what) {
  UrlAuthority out;
  if (size_t at = rest.rfind('@'); at != std::string_view::npos) {
    out.has_user_info = true;
    const std::string_view user_info = rest.substr(0, at);
    rest.remove_prefix(at + 1);
    const size_t colon = user_info.find(':');
    ACCEL_ASSIGN_OR_RETURN(out.user, PercentDecodeUserInfo(user_info.substr(0, colon), what));
    if (colon != std::string_view::npos) {
      ACCEL_ASSIGN_OR_RETURN(out.password, PercentDecodeUserInfo(user_info.substr(colon + 1), what));
    }
  }
  std::string_view host = rest;
  if (!rest.empty() && rest.front() == '[') {  // [IPv6]:port
    const size_t close = rest.find(']');
    if (close == std::string_view::npos)
      return InvalidArgument(std::string(what) + ": unclosed '[' in the host");
    host = rest.substr(1, close - 1);
    const std::string_view after = rest.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return InvalidArgument(std::string(what) + ": expected ':port' after ']'");
      ACCEL_ASSIGN_OR_RETURN(out.port, Port(after.substr(1), what));
    }
  } else if (size_t colon = rest.rfind(':'); colon != std::string_view::npos) {
    host = rest.substr(0, colon);
    ACCEL_ASSIGN_OR_RETURN(out.port, Port(rest.substr(colon + 1), what));
  }
  if (host.empty()) return InvalidArgument(std::string(what) + ": no host");
  out.host = std::string(host);
  return out;
}

}  // namespace accel
