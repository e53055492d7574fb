#include "cache/redis_url.h"

#include <cctype>
#include <charconv>

#include "core/url_authority.h"

namespace accel {
namespace {

StatusOr<int> Number(std::string_view text, int lo, int hi, const char* what) {
  int value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || value < lo || value > hi)
    return InvalidArgument(std::string("REDIS_URL: ") + what + " '" + std::string(text) +
                           "' is not a number in " + std::to_string(lo) + ".." + std::to_string(hi));
  return value;
}

}  // namespace

std::string RedisUrl::Display() const { return host + ":" + std::to_string(port) + "/" + std::to_string(db); }

StatusOr<RedisUrl> ParseRedisUrl(const std::string& url) {
  constexpr std::string_view kScheme = "redis://";
  std::string_view rest = url;
  if (rest.substr(0, kScheme.size()) != kScheme) {
    if (rest.substr(0, 9) == "rediss://")
      return InvalidArgument(
          "REDIS_URL: rediss:// (TLS) is not supported; use redis:// on a trusted network");
    if (rest.substr(0, 7) == "unix://")
      return InvalidArgument("REDIS_URL: unix sockets are not supported; use redis://host:port");
    return InvalidArgument(
        "REDIS_URL must look like redis://[:password@]host[:port][/db], got a URL without "
        "the redis:// scheme");
  }
  rest.remove_prefix(kScheme.size());
  RedisUrl out;
  // The path ("/db") starts at the first '/' after the user information, which may hold a raw '/'.
  const size_t at = rest.rfind('@');
  const size_t slash = rest.find('/', at == std::string_view::npos ? 0 : at + 1);
  if (slash != std::string_view::npos) {
    std::string_view db = rest.substr(slash + 1);
    if (size_t q = db.find('?'); q != std::string_view::npos) db = db.substr(0, q);
    if (!db.empty()) {
      ACCEL_ASSIGN_OR_RETURN(out.db, Number(db, 0, 1 << 20, "database number"));
    }
  }
  ACCEL_ASSIGN_OR_RETURN(UrlAuthority authority, ParseUrlAuthority(rest.substr(0, slash), "REDIS_URL"));
  // redis://secret@host: a lone user-information part is the password (as redis-cli -u reads it).
  if (authority.password) {
    out.username = std::move(authority.user);
    out.password = std::move(*authority.password);
  } else {
    out.password = std::move(authority.user);
  }
  out.host = std::move(authority.host);
  if (authority.port) out.port = *authority.port;
  return out;
}

}  // namespace accel
