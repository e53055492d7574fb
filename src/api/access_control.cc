#include "api/access_control.h"

#include <cstddef>

#include "api/http_types.h"

namespace accel {

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  // Every byte of the longer string is visited whatever the contents, so the time says nothing about the
  // position of a difference (only about the lengths, which a key's owner chooses and need not hide).
  const size_t n = a.size() > b.size() ? a.size() : b.size();
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (size_t i = 0; i < n; ++i) {
    const unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
    const unsigned char y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
    diff |= static_cast<unsigned char>(x ^ y);
  }
  // The volatile read keeps the compiler from turning the loop into an early-exit comparison.
  volatile unsigned char result = diff;
  return result == 0;
}

std::string_view BearerToken(std::string_view authorization) {
  constexpr std::string_view kScheme = "bearer";
  while (!authorization.empty() && authorization.front() == ' ') authorization.remove_prefix(1);
  if (authorization.size() <= kScheme.size() || authorization[kScheme.size()] != ' ' ||
      !EqualsIgnoreCase(authorization.substr(0, kScheme.size()), kScheme))
    return {};
  std::string_view token = authorization.substr(kScheme.size() + 1);
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  while (!token.empty() && (token.back() == ' ' || token.back() == '\t')) token.remove_suffix(1);
  return token;
}

bool AccessPolicy::KeyRequired(AccessLevel level) const {
  switch (level) {
    case AccessLevel::kObservability:
      return !open_observability && (!api_key.empty() || !admin_key.empty());
    case AccessLevel::kInference:
      return !api_key.empty();
    case AccessLevel::kAdmin:
      return !admin_key.empty() || !api_key.empty();
  }
  return true;
}

Status AccessPolicy::Check(AccessLevel level, std::string_view presented) const {
  if (!KeyRequired(level)) return Status::Ok();
  if (presented.empty())
    return Unauthenticated(
        "this endpoint needs a key: send it as 'Authorization: Bearer <key>' or 'X-API-Key: <key>'");
  const bool is_admin = !admin_key.empty() && ConstantTimeEquals(presented, admin_key);
  const bool is_user = !api_key.empty() && ConstantTimeEquals(presented, api_key);
  if (level == AccessLevel::kAdmin && !admin_key.empty()) {
    if (is_admin) return Status::Ok();
    if (is_user) return PermissionDenied("this endpoint needs the admin key; the api key is not enough");
    return Unauthenticated("invalid key");
  }
  if (is_admin || is_user) return Status::Ok();
  return Unauthenticated("invalid key");
}

}  // namespace accel
