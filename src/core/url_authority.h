// The authority part of a service URL, "[user[:password]@]host[:port]", shared by the URL parsers of the
// Redis cache and Redis Streams output (redis://) and the MQTT output (mqtt://). Each caller cuts the
// scheme and the path off first and decides what a lone user-information part means.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/status.h"

namespace accel {

struct UrlAuthority {
  bool has_user_info = false;           // an '@' was present
  std::string user;                     // percent-decoded; before the first ':' (all of it when no ':')
  std::optional<std::string> password;  // percent-decoded, after the first ':'; nullopt when there is none
  std::string host;                     // without the brackets of an [IPv6] literal; never empty
  std::optional<int> port;              // 1..65535 when given
};

// Errors are InvalidArgument with messages that start with `what` ("REDIS_URL", "MQTT URL") and never
// repeat the user information (it may hold a password). The last '@' ends the user information.
StatusOr<UrlAuthority> ParseUrlAuthority(std::string_view authority, std::string_view what);

}  // namespace accel
