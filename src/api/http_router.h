// HttpRouter: maps (method, path) to handlers. Exact paths and prefixes ("/v2/models/" + rest). Unknown
// paths answer 404 JSON, a known path with the wrong method 405 JSON with an Allow header.
#pragma once

#include <string>
#include <vector>

#include "api/http_types.h"

namespace accel {

class HttpRouter {
 public:
  // Registration happens before the server starts; Handle is then read-only and thread-safe.
  void Add(std::string method, std::string path, HttpHandler handler);
  void AddPrefix(std::string method, std::string prefix, HttpHandler handler);

  void Handle(HttpRequest&& request, HttpResponder respond) const;
  HttpHandler AsHandler() const;

 private:
  struct Route {
    std::string method;
    std::string path;
    bool prefix = false;
    HttpHandler handler;
  };
  std::vector<Route> routes_;
};

}  // namespace accel
