// Plain HTTP request/response values shared by the HTTP server and the routes. No Boost here, so route code
// and tests include this without pulling in Beast.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"

namespace accel {

struct HttpRequest {
  std::string method;  // "GET", "POST", ... as sent (Beast normalises known verbs to upper case)
  std::string path;    // target before '?', still percent-encoded
  std::string query;   // raw, after '?', without the '?'
  std::vector<std::pair<std::string, std::string>> headers;  // in arrival order, names as sent
  std::string body;
  std::string remote_address;  // peer IP ("127.0.0.1", "::1")
  int remote_port = 0;
  int version = 11;        // 10 for HTTP/1.0, 11 for HTTP/1.1
  bool keep_alive = true;  // what the client asked for; the server decides the connection's fate
  // Set by HttpRouter: the key in the headers satisfied the route's access level (or none is needed).
  bool authorized = false;

  // First header with this name, compared case-insensitively; "" if absent. The view points into headers.
  std::string_view Header(std::string_view name) const;
  // First query parameter with this name, percent- and '+'-decoded; nullopt if absent. "?a" gives "".
  std::optional<std::string> QueryParam(std::string_view name) const;
};

// The body of a streaming response (Server-Sent Events), written over time. Thread-safe, never blocks.
class HttpBodyStream {
 public:
  virtual ~HttpBodyStream() = default;
  // Queues `chunk` for the client. False when the connection is closed (client gone, server stopping or
  // draining), or when the bytes queued and not yet sent pass the response's stream_max_buffered_bytes: a
  // client too slow to read is disconnected then, rather than buffered without bound.
  virtual bool Write(std::string chunk) = 0;
  // Ends the response (closes the connection). Idempotent.
  virtual void Close() = 0;
  virtual bool closed() const = 0;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";             // empty: no Content-Type header
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers (Retry-After, ...)
  std::string body;
  // Set: a streaming response. The head goes out without a length (the body ends when the connection
  // closes; `Connection: close`), then `body`, then whatever is written to the stream handed to
  // on_stream, which the server calls once, on the connection's I/O thread, after the head was queued.
  std::function<void(std::shared_ptr<HttpBodyStream>)> on_stream;
  size_t stream_max_buffered_bytes = 256 << 10;
};

// Must be called exactly once, from any thread; later calls are ignored. Calling it after the connection
// closed (or after the server stopped) is safe and does nothing. Dropping every copy without calling it
// answers 500, so a forgotten response never hangs a client.
using HttpResponder = std::function<void(HttpResponse)>;
// Called on an I/O thread. Must not block for long: heavy work goes to another thread, then respond.
// Exceptions escaping the handler are caught and answered with 500.
using HttpHandler = std::function<void(HttpRequest&&, HttpResponder)>;

// {"success": false, "error": message} with the given status.
HttpResponse JsonErrorResponse(int status, std::string_view message);
// The same for a non-OK Status, with its HTTP code (HttpStatusFor) and Retry-After: 1 on kResourceExhausted.
// (HttpServer adds Retry-After: 1 to any 503 that has none.)
HttpResponse JsonErrorResponse(const Status& status);

// Percent-decoding. plus_as_space: '+' becomes ' ' (query strings and form bodies). Lenient: a '%' not
// followed by two hex digits is kept literally. UrlDecodeStrict rejects it instead.
std::string UrlDecode(std::string_view text, bool plus_as_space);
StatusOr<std::string> UrlDecodeStrict(std::string_view text, bool plus_as_space);

bool EqualsIgnoreCase(std::string_view a, std::string_view b);

}  // namespace accel
