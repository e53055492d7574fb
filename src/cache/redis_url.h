// REDIS_URL: redis://[[username]:password@]host[:port][/db]. The password (and username, Redis 6 ACLs) may
// be percent-encoded. rediss:// (TLS) and unix sockets are not supported and are refused with a message
// that says so.
#pragma once

#include <string>

#include "core/status.h"

namespace accel {

struct RedisUrl {
  std::string host;
  int port = 6379;
  std::string username;  // "": AUTH with the password only
  std::string password;  // "": no AUTH
  int db = 0;

  // host:port/db, never the password: for logs and health.
  std::string Display() const;
};

// InvalidArgument naming what is wrong (scheme, port, database number).
StatusOr<RedisUrl> ParseRedisUrl(const std::string& url);

}  // namespace accel
