#include "cache/redis_url.h"

#include <cctype>
#include <charconv>

#include "core/percent_decoding.h"

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
  if (size_t at = rest.rfind('@'); at != std::string_view::npos) {
    std::string_view user_info = rest.substr(0, at);
    rest.remove_prefix(at + 1);
    std::string_view user = user_info, password;
    if (size_t colon = user_info.find(':'); colon != std::string_view::npos) {
      user = user_info.substr(0, colon);
      password = user_info.substr(colon + 1);
    } else {
      // redis://secret@host: a lone user-info part is the password (as redis-cli -u reads it).
      password = user_info;
      user = {};
    }
    ACCEL_ASSIGN_OR_RETURN(out.username, PercentDecodeUserInfo(user, "REDIS_URL"));
    ACCEL_ASSIGN_OR_RETURN(out.password, PercentDecodeUserInfo(password, "REDIS_URL"));
  }
  std::string_view host_port = rest;
  if (size_t slash = rest.find('/'); slash != std::string_view::npos) {
    host_port = rest.substr(0, slash);
    std::string_view db = rest.substr(slash + 1);
    if (size_t q = db.find('?'); q != std::string_view::npos) db = db.substr(0, q);
    if (!db.empty()) {
      ACCEL_ASSIGN_OR_RETURN(out.db, Number(db, 0, 1 << 20, "database number"));
    }
  }
  std::string_view host = host_port;
  if (!host_port.empty() && host_port.front() == '[') {  // [IPv6]:port
    size_t close = host_port.find(']');
    if (close == std::string_view::npos) return InvalidArgument("REDIS_URL: unclosed '[' in the host");
    host = host_port.substr(1, close - 1);
    std::string_view after = host_port.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return InvalidArgument("REDIS_URL: expected ':port' after ']'");
      ACCEL_ASSIGN_OR_RETURN(out.port, Number(after.substr(1), 1, 65535, "port"));
    }
  } else if (size_t colon = host_port.rfind(':'); colon != std::string_view::npos) {
    host = host_port.substr(0, colon);
    ACCEL_ASSIGN_OR_RETURN(out.port, Number(host_port.substr(colon + 1), 1, 65535, "port"));
  }
  if (host.empty()) return InvalidArgument("REDIS_URL: no host (redis://host:port)");
  out.host = std::string(host);
  return out;
}

}  // namespace accel
