// Who may call what, for every front end (HTTP routes, gRPC methods, and the zmq server through its own
// allow-list). Three levels, after Triton's restricted APIs:
//   kObservability  liveness/readiness, /metrics, /ai/stats, the dashboard: open unless
//                   AccessPolicy::open_observability is false, then as kInference.
//   kInference      inference and metadata: open when no api_key is set; otherwise the api_key or the
//                   admin_key.
//   kAdmin          model load/unload, /ai/validate, shared-memory registration: the admin_key when one is
//                   set (the api_key is refused: 403); without one, the kInference rule.
// A key arrives as `Authorization: Bearer <key>` or `X-API-Key: <key>` (gRPC: the same names as metadata);
// the seed and DeepStack routes also take an `api_key` field in the body, checked by their handler once the
// body is parsed (see RouteAccess::kInferenceOrBodyKey). Keys are compared in constant time.
#pragma once

#include <string>
#include <string_view>

#include "core/status.h"

namespace accel {

enum class AccessLevel { kObservability, kInference, kAdmin };

struct AccessPolicy {
  std::string api_key;    // "": inference is open
  std::string admin_key;  // "": admin routes follow the inference rule
  bool open_observability = true;

  // Whether a request at `level` must present a key at all.
  bool KeyRequired(AccessLevel level) const;
  // Ok, or kUnauthenticated (no key / a wrong key) or kPermissionDenied (the api_key on an admin route).
  // `presented` is "" when the request carried no key.
  Status Check(AccessLevel level, std::string_view presented) const;
};

// Equal contents, in time that depends only on the lengths (not on where the first difference is).
bool ConstantTimeEquals(std::string_view a, std::string_view b);

// The key in an `Authorization` header value ("Bearer <key>", scheme case-insensitive); "" if it is not a
// bearer credential.
std::string_view BearerToken(std::string_view authorization);

}  // namespace accel
