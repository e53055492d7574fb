// A generic asynchronous HTTP/1.0 and 1.1 server on Boost.Beast: keep-alive, pipelining (answered in
// order), Expect: 100-continue, body and header limits, idle timeout. It knows no routes: every complete
// request goes to one HttpHandler, which answers through an HttpResponder from any thread.
//
// Threads: `io_threads` threads, each running its own io_context; a connection lives on one of them, so
// everything a connection does is serialised on that thread. A responder called from a foreign thread posts
// the write there. Errors the server produces itself are JSON {"success": false, "error": "..."}: 400 for
// malformed HTTP (then close), 413 for a body over max_body_bytes, 431 for headers over max_header_bytes.
//
// TLS (Options::tls): the port then speaks only TLS 1.2 or newer (OpenSSL through Asio), with the same
// HTTP behaviour inside. A connection's TLS handshake and its first request header share one deadline,
// header_timeout from the accept, and the connection counts against max_connections from the accept, so
// peers that connect and never handshake are bounded like slow-header ones. A peer that fails the handshake
// (plaintext HTTP, no or an untrusted client certificate, an old protocol) is disconnected and logged at
// debug level only: on an exposed port such peers are routine.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include "api/http_types.h"
#include "api/tls_credentials.h"
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
    std::chrono::seconds idle_timeout{60};  // bounds a stalled write, and a chunked body's read
    // A request's whole header block must arrive within this (slow-header attacks hold a connection with a
    // byte now and then); it is also how long a kept-alive connection may wait for its next request.
    std::chrono::seconds header_timeout{10};
    // A body of known length must arrive at least this fast, after a grace of header_timeout: a 32 MB body
    // may take header_timeout + 32 MB / rate.
    size_t min_body_bytes_per_second = 64 << 10;
    // Connections beyond this are answered 503 (Retry-After) and closed at once, so that idle or slow
    // peers cannot use up the file descriptors. 0: the soft RLIMIT_NOFILE less a reserve of 256 for model
    // files, gRPC, zmq and engines (at least 16).
    size_t max_connections = 0;
    std::string server_name = "accel";  // Server header; empty: none
    // TLS when tls.enabled(): certificate chain, key and optional client CA (client certificates are then
    // required and verified). Off: plaintext HTTP.
    TlsFiles tls;
  };

  HttpServer(Options options, HttpHandler handler);
  ~HttpServer();  // Stop()
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds, listens and starts the I/O threads. Unavailable with a clear message when the address is in use
  // or cannot be bound; InvalidArgument naming the file when a TLS file cannot be read or does not fit
  // (LoadTlsCredentials); FailedPrecondition when called twice. Not thread-safe against Stop().
  Status Start();
  // The bound port after a successful Start (the real one when Options::port was 0); 0 before.
  int port() const;
  // Graceful drain, first step of a graceful stop: closes the listener (the kernel then refuses new
  // connections), closes every connection that sits idle between requests, and makes each later response
  // carry `Connection: close`, so that a connection closes once its request is answered. Requests in
  // flight, and one request on a connection accepted just before, go on. Idempotent; any thread but an I/O
  // thread, after Start.
  void BeginDrain();
  // Waits until every connection has closed (after BeginDrain: every request answered) or `deadline`.
  // Returns the connections still open (0: drained). Any thread but an I/O thread.
  size_t WaitDrained(std::chrono::steady_clock::time_point deadline);

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
