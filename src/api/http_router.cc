#include "api/http_router.h"

#include <chrono>

#include "core/logging.h"

namespace accel {

void HttpRouter::Add(std::string method, std::string path, HttpHandler handler) {
  routes_.push_back(Route{std::move(method), std::move(path), false, std::move(handler)});
}

void HttpRouter::AddPrefix(std::string method, std::string prefix, HttpHandler handler) {
  routes_.push_back(Route{std::move(method), std::move(prefix), true, std::move(handler)});
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
