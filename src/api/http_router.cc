#include "api/http_router.h"

#include <chrono>

#include "core/logging.h"
#include "core/thread_pool.h"

namespace accel {
namespace {

bool IsJsonContentType(std::string_view content_type) {
  const size_t semicolon = content_type.find(';');
  std::string_view media = content_type.substr(0, semicolon);
  while (!media.empty() && (media.back() == ' ' || media.back() == '\t')) media.remove_suffix(1);
  return EqualsIgnoreCase(media, "application/json");
}

}  // namespace

std::string_view HeaderKey(const HttpRequest& request) {
  if (std::string_view key = request.Header("X-API-Key"); !key.empty()) return key;
  return BearerToken(request.Header("Authorization"));
}

Status CheckBodyKey(const AccessPolicy& policy, const HttpRequest& request, std::string_view body_key) {
  if (request.authorized) return Status::Ok();
  return policy.Check(AccessLevel::kInference, body_key);
}

HttpResponse AccessDeniedResponse(const Status& status) {
  HttpResponse response = JsonErrorResponse(status);
  if (status.code() == StatusCode::kUnauthenticated)
    response.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"accel\"");
  return response;
}

void HttpRouter::Add(std::string method, std::string path, RouteAccess access, HttpHandler handler) {
  routes_.push_back(Route{std::move(method), std::move(path), false, access, std::move(handler)});
}

void HttpRouter::AddPrefix(std::string method, std::string prefix, RouteAccess access, HttpHandler handler) {
  routes_.push_back(Route{std::move(method), std::move(prefix), true, access, std::move(handler)});
}

Status HttpRouter::Authorize(const Route& route, HttpRequest& request) const {
  const std::string_view key = HeaderKey(request);
  if (policy_ && policy_->KeyRequired(route.access.level)) {
    // No header key on a route that takes one in the body: the handler decides once the body is parsed.
    if (key.empty() && route.access.body_key) return Status::Ok();
    ACCEL_RETURN_IF_ERROR(policy_->Check(route.access.level, key));
  }
  if (route.access.state_changing && key.empty() && !IsJsonContentType(request.Header("Content-Type")))
    return UnsupportedMediaType(
        "this endpoint changes server state and needs 'Content-Type: application/json' (or a key header), "
        "so that a cross-site form cannot call it");
  request.authorized = true;
  return Status::Ok();
}

void HttpRouter::Handle(HttpRequest&& request, HttpResponder respond) const {
  // One line per request, at debug level only: under load nothing is logged per request at info.
  if (LogEnabled(LogLevel::kDebug)) {
    respond = [inner = std::move(respond),
               line = request.method + " " + request.path + " from " + request.remote_address,
               start = std::chrono::steady_clock::now()](HttpResponse response) {
      const double ms =
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
      ACCEL_LOG(kDebug, "http") << line << " -> " << response.status << " in " << ms << " ms";
      inner(std::move(response));
    };
  }
  std::string allowed;
  // Paths are matched as sent, except a trailing slash, which clients add inconsistently.
  std::string path = request.path;
  if (path.size() > 1 && path.back() == '/') path.pop_back();
  const bool is_head = request.method == "HEAD";
  for (const auto& route : routes_) {
    const bool match = route.prefix ? path.rfind(route.path, 0) == 0 : path == route.path;
    if (!match) continue;
    if (route.method == request.method || (is_head && route.method == "GET")) {
      if (Status allowed_in = Authorize(route, request); !allowed_in.ok()) {
        if (allowed_in.code() == StatusCode::kUnsupportedMediaType)
          return respond(JsonErrorResponse(allowed_in));
        ACCEL_LOG(kDebug, "http") << "refused " << request.method << " " << path << " from "
                                  << request.remote_address << ": " << allowed_in.message();
        if (on_denied_) on_denied_(allowed_in);
        return respond(AccessDeniedResponse(allowed_in));
      }
      if (offload_ && request.body.size() >= offload_min_body_bytes_) {
        offload_->Post(
            [handler = route.handler, request = std::move(request), respond = std::move(respond)]() mutable {
              handler(std::move(request), std::move(respond));
            });
        return;
      }
      route.handler(std::move(request), std::move(respond));
      return;
    }
    if (allowed.find(route.method) == std::string::npos)
      allowed += (allowed.empty() ? "" : ", ") + route.method;
  }
  if (!allowed.empty()) {
    HttpResponse response = JsonErrorResponse(
        405, "method " + request.method + " is not allowed on " + path + " (allowed: " + allowed + ")");
    response.headers.emplace_back("Allow", allowed);
    respond(std::move(response));
    return;
  }
  respond(JsonErrorResponse(404, "no such endpoint: " + request.method + " " + path));
}

HttpHandler HttpRouter::AsHandler() const {
  return [this](HttpRequest&& request, HttpResponder respond) {
    Handle(std::move(request), std::move(respond));
  };
}

}  // namespace accel
