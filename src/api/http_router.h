// HttpRouter: maps (method, path) to handlers. Exact paths and prefixes ("/v2/models/" + rest). Unknown
// paths answer 404 JSON, a known path with the wrong method 405 JSON with an Allow header.
//
// Every route declares who may call it (RouteAccess); the router checks the key in the headers before the
// handler runs, so a refused request's body is never parsed. Requests with a body of at least
// offload_min_body_bytes go to the offload pool, so that parsing a large JSON body never holds an I/O thread
// (which serves many other connections).
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "api/access_control.h"
#include "api/http_types.h"

namespace accel {

class ThreadPool;

struct RouteAccess {
  AccessLevel level = AccessLevel::kInference;
  // The handler reads an `api_key` field from the body (DeepStack, CodeProject.AI and Frigate send the key
  // that way): when the headers carry no key, the router lets the request through with
  // HttpRequest::authorized false and the handler must call CheckBodyKey once it has parsed the body.
  bool body_key = false;
  // The route changes server state (model load/unload): it needs `Content-Type: application/json` or a key
  // in a header, neither of which a cross-site form or no-cors fetch can send (CSRF).
  bool state_changing = false;
};

inline constexpr RouteAccess kObservabilityRoute{AccessLevel::kObservability};
inline constexpr RouteAccess kInferenceRoute{AccessLevel::kInference};
inline constexpr RouteAccess kInferenceBodyKeyRoute{AccessLevel::kInference, true};
inline constexpr RouteAccess kAdminRoute{AccessLevel::kAdmin};
inline constexpr RouteAccess kStateChangingAdminRoute{AccessLevel::kAdmin, false, true};

// The key a request carries in `Authorization: Bearer <key>` or `X-API-Key: <key>`; "" when none.
std::string_view HeaderKey(const HttpRequest& request);
// For handlers of body_key routes: Ok when the router already authorised the request, else the policy's
// verdict on the body's key.
Status CheckBodyKey(const AccessPolicy& policy, const HttpRequest& request, std::string_view body_key);
// The 401/403 answer for a refused request (with WWW-Authenticate on 401).
HttpResponse AccessDeniedResponse(const Status& status);

class HttpRouter {
 public:
  // Registration and the setters happen before the server starts; Handle is then read-only and
  // thread-safe. Without a policy every route is open (tests).
  void Add(std::string method, std::string path, RouteAccess access, HttpHandler handler);
  void AddPrefix(std::string method, std::string prefix, RouteAccess access, HttpHandler handler);
  // `policy` must outlive the router.
  void SetAccessPolicy(const AccessPolicy* policy) { policy_ = policy; }
  // Called (on the request's thread) for every request refused for want of a valid key, with the refusal.
  void SetDeniedObserver(std::function<void(const Status&)> observer) { on_denied_ = std::move(observer); }
  // `pool` must outlive every request the router hands it (the owner stops the HTTP server, then destroys
  // the pool, which runs what is still queued).
  void SetOffload(ThreadPool* pool, size_t min_body_bytes) {
    offload_ = pool;
    offload_min_body_bytes_ = min_body_bytes;
  }

  void Handle(HttpRequest&& request, HttpResponder respond) const;
  HttpHandler AsHandler() const;

 private:
  struct Route {
    std::string method;
    std::string path;
    bool prefix = false;
    RouteAccess access;
    HttpHandler handler;
  };
  // Ok, or why the request may not reach `route`'s handler; sets request.authorized.
  Status Authorize(const Route& route, HttpRequest& request) const;

  std::vector<Route> routes_;
  const AccessPolicy* policy_ = nullptr;
  std::function<void(const Status&)> on_denied_;
  ThreadPool* offload_ = nullptr;
  size_t offload_min_body_bytes_ = 0;
};

}  // namespace accel
