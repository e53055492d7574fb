// A generic asynchronous HTTP/1.0 and 1.1 server on Boost.Beast: keep-alive, pipelining (answered in
// order), Expect: 100-continue, body and header limits, idle timeout. It knows no routes: every complete
// request goes to one HttpHandler, which answers through an HttpResponder from any thread.
//
// Threads: `io_threads` threads, each running its own io_context; a connection lives on one of them, so
// everything a connection does is serialised on that thread. A responder called from a foreign thread posts
// the write there. Errors the server produces itself are JSON {"success": false, "error": "..."}: 400 for
// malformed HTTP (then close), 413 for a body over max_body_bytes, 431 for headers over max_header_bytes.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include "api/http_types.h"
#include "core/status.h"

namespace accel {

class HttpServer {
 public:
  struct Options {
    std::string host = "0.0.0.0";
    int port = 8000;     // 0: an ephemeral port, see port()
    int io_threads = 0;  // 0: hardware cores
    size_t max_body_bytes = 32 << 20;
    size_t max_header_bytes = 64 << 10;
    std::chrono::seconds idle_timeout{60};  // also bounds a stalled read or write
    std::string server_name = "accel";      // Server header; empty: none
  };

  HttpServer(Options options, HttpHandler handler);
  ~HttpServer();  // Stop()
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds, listens and starts the I/O threads. Unavailable with a clear message when the address is in use
  // or cannot be bound; FailedPrecondition when called twice. Not thread-safe against Stop().
  Status Start();
  // The bound port after a successful Start (the real one when Options::port was 0); 0 before.
  int port() const;
  // Closes the listener and every connection, joins the I/O threads. Idempotent. Requests in flight are
  // dropped; their responders become no-ops. Must not be called from a handler on an I/O thread.
  void Stop();

  // Open connections right now (for tests and metrics).
  size_t connection_count() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace accel
