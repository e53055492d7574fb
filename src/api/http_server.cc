#include "api/http_server.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>
#include <type_traits>
#include <unordered_map>
#include <vector>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include "core/logging.h"

namespace accel {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using ErrorCode = boost::system::error_code;
using PlainStream = beast::tcp_stream;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;

constexpr const char* kLog = "http";
// Bounds on the lingering close after an error answer (see Session::LingerThenClose).
constexpr std::chrono::seconds kLingerTime{3};
// The read buffer must hold a whole header block, and a chunked body's whole trailer block; body bytes pass
// through it. Beast throws (instead of failing the read) for a header or trailer field over 65,535 bytes,
// so the buffer stays below that: an oversized header or trailer then ends as buffer_overflow, answered 431.
constexpr size_t kReadBufferLimit = 65'000;
constexpr size_t kLingerMaxBytes = 256u << 20;

// What the server needs of a connection, whatever stream it speaks through (Session<Stream>).
class Connection {
 public:
  virtual ~Connection() = default;
  // Connection thread only.
  virtual void Close() = 0;
  // Connection thread only: closes the connection when it waits for a next request of which no byte has
  // arrived (graceful drain).
  virtual void CloseIfIdle() = 0;
  virtual asio::any_io_executor executor() = 0;
};

// State shared by the server and its connections. Connections hold it by shared_ptr, so the io_contexts
// outlive every socket even when a foreign thread keeps a responder (and thus a connection) past Stop().
struct Shared {
  HttpServer::Options options;
  HttpHandler handler;
  std::vector<std::unique_ptr<asio::io_context>> contexts;  // fixed after Start
  // Set by Start when TLS is on; shared by every connection's OpenSSL session (read-only after Start).
  std::unique_ptr<ssl::context> tls;
  std::atomic<bool> stopping{false};
  // Set by BeginDrain: the listener is closed and every response carries `Connection: close`.
  std::atomic<bool> draining{false};
  size_t max_connections = 0;               // fixed after Start
  std::atomic<size_t> open_connections{0};  // Session objects alive, counted from accept to close
  std::atomic<uint64_t> refused_connections{0};
  mutable std::mutex sessions_mu;
  std::unordered_map<Connection*, std::weak_ptr<Connection>> sessions;
  // Connections whose socket is still open (a session object may outlive its socket while a handler holds
  // its responder). WaitDrained waits on session_closed, with sessions_mu, until none is left.
  std::atomic<size_t> unclosed_connections{0};
  std::condition_variable session_closed;
};

bool HasControlChars(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) { return c == '\r' || c == '\n' || c == '\0'; });
}

// One connection, over plain TCP (PlainStream) or TLS (TlsStream); the HTTP logic is the same for both.
// Timeouts live on the TCP layer (Tcp()), whatever the stream. Every member is touched only on the
// connection's io_context thread, except Deliver(), which any thread may call.
template <class Stream>
class Session : public Connection, public std::enable_shared_from_this<Session<Stream>> {
 public:
  static constexpr bool kTls = std::is_same_v<Stream, TlsStream>;

  Session(std::shared_ptr<Shared> shared, tcp::socket socket)
      : shared_(std::move(shared)), stream_(MakeStream(std::move(socket), *shared_)) {
    shared_->open_connections.fetch_add(1);
    shared_->unclosed_connections.fetch_add(1);
  }

  ~Session() {
    shared_->open_connections.fetch_sub(1);
    if (!closed_) shared_->unclosed_connections.fetch_sub(1);
    std::lock_guard<std::mutex> lock(shared_->sessions_mu);
    shared_->sessions.erase(this);
    shared_->session_closed.notify_all();
  }

  void Start() {
    {
      std::lock_guard<std::mutex> lock(shared_->sessions_mu);
      shared_->sessions.emplace(this, this->weak_from_this());
    }
    if (shared_->stopping) return Close();
    ErrorCode ec;
    // Without TCP_NODELAY a keep-alive answer written after the previous one waits ~40 ms for the peer's
    // delayed ACK (Nagle); throughput collapses to a few dozen requests per second.
    Tcp().socket().set_option(tcp::no_delay(true), ec);
    auto endpoint = Tcp().socket().remote_endpoint(ec);
    if (!ec) {
      remote_address_ = endpoint.address().to_string();
      remote_port_ = endpoint.port();
    }
    // The TLS handshake and the first header share this deadline: a peer that connects and then stalls
    // (never handshakes, or handshakes and sends nothing) is bounded like a slow-header one.
    first_header_deadline_ = std::chrono::steady_clock::now() + shared_->options.header_timeout;
    if constexpr (kTls) {
      Tcp().expires_at(*first_header_deadline_);
      stream_.async_handshake(ssl::stream_base::server,
                              beast::bind_front_handler(&Session::OnHandshake, this->shared_from_this()));
    } else {
      ReadHeader();
    }
  }

  // Any thread. Hands a response to the connection's thread; ignored when the connection is gone.
  void Deliver(HttpResponse response) {
    if (shared_->stopping) return;
    asio::dispatch(stream_.get_executor(),
                   [self = this->shared_from_this(), response = std::move(response)]() mutable {
                     self->WriteResponse(std::move(response));
                   });
  }

  // Connection thread only.
  void Close() override {
    if (closed_) return;
    closed_ = true;
    awaiting_response_ = false;
    if (body_stream_) body_stream_->MarkClosed();
    {
      std::lock_guard<std::mutex> lock(shared_->sessions_mu);
      shared_->unclosed_connections.fetch_sub(1);
      shared_->session_closed.notify_all();
    }
    ErrorCode ec;
    Tcp().socket().shutdown(tcp::socket::shutdown_both, ec);
    Tcp().close();
  }

  // A streaming response (Server-Sent Events) never finishes by itself: a drain ends it too.
  void CloseIfIdle() override {
    if (streaming_ || (waiting_for_request_ && buffer_.size() == 0)) Close();
  }

  asio::any_io_executor executor() override { return stream_.get_executor(); }

 private:
  static Stream MakeStream(tcp::socket socket, Shared& shared) {
    if constexpr (kTls) {
      return Stream(std::move(socket), *shared.tls);
    } else {
      return Stream(std::move(socket));
    }
  }

  // The TCP stream under the connection: it carries the deadlines and owns the socket.
  beast::tcp_stream& Tcp() { return beast::get_lowest_layer(stream_); }

  void OnHandshake(ErrorCode ec) {
    if (ec) {
      // Plaintext on a TLS port, port scanners, clients without an acceptable certificate: routine on an
      // exposed port, so not a warning.
      if (ec != asio::error::operation_aborted && !shared_->stopping) {
        ACCEL_LOG(kDebug, kLog) << "TLS handshake with " << remote_address_ << ":" << remote_port_
                                << " failed: " << ec.message();
      }
      return Close();
    }
    ReadHeader();
  }

  void ReadHeader() {
    if (closed_) return;
    parser_.emplace();
    parser_->body_limit(shared_->options.max_body_bytes);
    parser_->header_limit(
        static_cast<std::uint32_t>(std::min<size_t>(shared_->options.max_header_bytes, UINT32_MAX)));
    if (first_header_deadline_) {
      Tcp().expires_at(*first_header_deadline_);
      first_header_deadline_.reset();
    } else {
      Tcp().expires_after(shared_->options.header_timeout);
    }
    waiting_for_request_ = true;
    http::async_read_header(stream_, buffer_, *parser_,
                            beast::bind_front_handler(&Session::OnHeader, this->shared_from_this()));
  }

  void OnHeader(ErrorCode ec, size_t) {
    waiting_for_request_ = false;
    if (ec) return OnReadError(ec);
    if (parser_->is_done()) return DispatchRequest();
    const auto& message = parser_->get();
    if (message.version() >= 11 && beast::iequals(message[http::field::expect], "100-continue")) {
      // The client holds the body back until it hears this (curl does so for large multipart uploads).
      static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      Tcp().expires_after(shared_->options.idle_timeout);
      asio::async_write(stream_, asio::buffer(kContinue.data(), kContinue.size()),
                        [self = this->shared_from_this()](ErrorCode write_ec, size_t) {
                          if (write_ec) return self->Close();
                          self->ReadBody();
                        });
      return;
    }
    ReadBody();
  }

  void ReadBody() {
    if (closed_) return;
    Tcp().expires_after(BodyDeadline());
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&Session::OnBody, this->shared_from_this()));
  }

  // A body of known length gets header_timeout plus its length at the minimum rate; a chunked one (length
  // unknown) the idle timeout.
  std::chrono::steady_clock::duration BodyDeadline() const {
    const auto& o = shared_->options;
    const auto length = parser_->content_length();
    if (!length || o.min_body_bytes_per_second == 0) return o.idle_timeout;
    return o.header_timeout + std::chrono::milliseconds(*length * 1000 / o.min_body_bytes_per_second);
  }

  void OnBody(ErrorCode ec, size_t) {
    if (ec) return OnReadError(ec);
    DispatchRequest();
  }

  void OnReadError(ErrorCode ec) {
    if (closed_ || ec == asio::error::operation_aborted) return Close();
    if (ec == http::error::body_limit) {
      return WriteError(413, "request body exceeds the limit of " +
                                 std::to_string(shared_->options.max_body_bytes) + " bytes");
    }
    if (ec == http::error::header_limit || ec == http::error::buffer_overflow) {
      return WriteError(
          431, "request headers or trailers exceed the limit of " +
                   std::to_string(std::min(shared_->options.max_header_bytes, kReadBufferLimit)) + " bytes");
    }
    // A peer that goes away, stalls past the idle timeout, or hangs up mid-request gets no answer.
    static const auto& kHttpCategory = ErrorCode(http::error::end_of_stream).category();
    if (ec == http::error::end_of_stream || ec == http::error::partial_message ||
        ec.category() != kHttpCategory) {
      return Close();
    }
    WriteError(400, "malformed HTTP request: " + ec.message());
  }

  void DispatchRequest() {
    if (shared_->stopping) return Close();
    auto message = parser_->release();
    parser_.reset();
    HttpRequest request;
    try {
      request.method = std::string(message.method_string());
      auto raw_target = message.target();
      std::string_view target(raw_target.data(), raw_target.size());
      size_t question = target.find('?');
      request.path = std::string(target.substr(0, question));
      if (question != std::string_view::npos) request.query = std::string(target.substr(question + 1));
      request.headers.reserve(8);
      for (const auto& field : message) {
        request.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
      }
      request.body = std::move(message.body());
      request.remote_address = remote_address_;
      request.remote_port = remote_port_;
      request.version = static_cast<int>(message.version());
      request.keep_alive = message.keep_alive();
    } catch (const std::exception& e) {
      return WriteError(500, std::string("cannot build request: ") + e.what());
    }
    version_ = message.version();
    keep_alive_ = message.keep_alive();
    head_request_ = message.method() == http::verb::head;
    awaiting_response_ = true;

    HttpResponder responder = [state = std::make_shared<ResponderState>(this->shared_from_this())](
                                  HttpResponse response) { state->Respond(std::move(response)); };
    try {
      shared_->handler(std::move(request), responder);
    } catch (const std::exception& e) {
      ACCEL_LOG(kError, kLog) << "handler threw: " << e.what();
      responder(JsonErrorResponse(500, std::string("internal error: ") + e.what()));
    } catch (...) {
      ACCEL_LOG(kError, kLog) << "handler threw a non-standard exception";
      responder(JsonErrorResponse(500, "internal error"));
    }
  }

  // Shared by every copy of one request's responder: enforces "once" and answers 500 if all copies are
  // dropped unanswered.
  struct ResponderState {
    explicit ResponderState(std::shared_ptr<Session> s) : session(std::move(s)) {}
    ~ResponderState() {
      if (called.load()) return;
      try {
        session->Deliver(JsonErrorResponse(500, "internal error: the request handler did not respond"));
      } catch (...) {
      }
    }
    void Respond(HttpResponse response) {
      if (called.exchange(true)) return;
      session->Deliver(std::move(response));
    }
    std::shared_ptr<Session> session;
    std::atomic<bool> called{false};
  };

  void WriteResponse(HttpResponse response) {
    if (closed_ || !awaiting_response_) return;
    awaiting_response_ = false;
    if (response.on_stream && response.status >= 200 && response.status <= 599 && !head_request_)
      return StartStream(std::move(response));
    try {
      response_ = {};
      int status = response.status;
      if (status < 200 || status > 599) {
        ACCEL_LOG(kError, kLog) << "handler answered invalid status " << status << "; sending 500";
        response = JsonErrorResponse(500, "internal error: invalid response status");
        status = 500;
      }
      // A draining server ends each connection after its answer (clients and proxies then reconnect to
      // another instance).
      bool keep_alive = keep_alive_ && !shared_->stopping && !shared_->draining;
      response_.version(version_);
      response_.result(static_cast<unsigned>(status));
      const std::string& server_name = shared_->options.server_name;
      if (!server_name.empty()) response_.set(http::field::server, server_name);
      if (!response.content_type.empty() && !HasControlChars(response.content_type)) {
        response_.set(http::field::content_type, response.content_type);
      }
      for (auto& [name, value] : response.headers) {
        if (name.empty() || HasControlChars(name) || HasControlChars(value)) continue;
        // Framing is ours: a handler-supplied length or encoding would corrupt the stream.
        if (beast::iequals(name, "content-length") || beast::iequals(name, "transfer-encoding")) continue;
        if (beast::iequals(name, "connection")) {
          if (beast::iequals(value, "close")) keep_alive = false;
          continue;
        }
        response_.insert(name, value);
      }
      // Every 503 tells the client when to come back (overload, no device, shutting down), whichever
      // handler produced it.
      if (status == 503 && response_.find(http::field::retry_after) == response_.end())
        response_.set(http::field::retry_after, "1");
      bool no_body = status == 204 || status == 304;
      if (!no_body) response_.body() = std::move(response.body);
      response_.keep_alive(keep_alive);
      response_.prepare_payload();
      if (head_request_) {
        size_t length = response_.body().size();
        response_.body().clear();
        response_.content_length(length);
      }
      close_after_write_ = !keep_alive;
      linger_after_write_ = false;
    } catch (const std::exception& e) {
      ACCEL_LOG(kError, kLog) << "cannot build response: " << e.what();
      return Close();
    }
    Write();
  }

  // The body of a streaming response. Write and Close may come from any thread; the bytes go out on the
  // connection's thread in order. Bytes queued and not yet written are bounded (max_buffered).
  class BodyStream : public HttpBodyStream {
   public:
    BodyStream(std::weak_ptr<Session> session, size_t max_buffered)
        : session_(std::move(session)), max_buffered_(max_buffered) {}
    bool Write(std::string chunk) override {
      if (closed_) return false;
      const size_t size = chunk.size();
      if (queued_.fetch_add(size) + size > max_buffered_) {
        Close();  // too slow a reader: disconnected, never buffered without bound
        return false;
      }
      auto session = session_.lock();
      if (!session) {
        closed_ = true;
        return false;
      }
      asio::post(session->executor(), [session, chunk = std::move(chunk)]() mutable {
        session->QueueStreamChunk(std::move(chunk));
      });
      return true;
    }
    void Close() override {
      if (closed_.exchange(true)) return;
      if (auto session = session_.lock()) asio::post(session->executor(), [session] { session->Close(); });
    }
    bool closed() const override { return closed_; }
    void MarkClosed() { closed_ = true; }
    void Sent(size_t bytes) { queued_.fetch_sub(bytes); }
    void Queued(size_t bytes) { queued_.fetch_add(bytes); }

   private:
    std::weak_ptr<Session> session_;
    const size_t max_buffered_;
    std::atomic<size_t> queued_{0};
    std::atomic<bool> closed_{false};
  };

  // Sends the head of a streaming response (no length: the body ends with the connection), then hands the
  // stream to the handler. The connection is watched for the client going away: anything it sends or its
  // hang-up closes the stream (read from the TCP layer; the client has nothing more to say).
  void StartStream(HttpResponse response) {
    std::string head_text;
    try {
      http::response<http::empty_body> head;
      head.version(version_);
      head.result(static_cast<unsigned>(response.status));
      const std::string& server_name = shared_->options.server_name;
      if (!server_name.empty()) head.set(http::field::server, server_name);
      if (!response.content_type.empty() && !HasControlChars(response.content_type))
        head.set(http::field::content_type, response.content_type);
      for (auto& [name, value] : response.headers) {
        if (name.empty() || HasControlChars(name) || HasControlChars(value)) continue;
        if (beast::iequals(name, "content-length") || beast::iequals(name, "transfer-encoding") ||
            beast::iequals(name, "connection"))
          continue;
        head.insert(name, value);
      }
      head.set(http::field::connection, "close");
      std::ostringstream out;
      out << head.base();
      head_text = out.str() + response.body;
    } catch (const std::exception& e) {
      ACCEL_LOG(kError, kLog) << "cannot build streaming response: " << e.what();
      return Close();
    }
    streaming_ = true;
    body_stream_ = std::make_shared<BodyStream>(this->weak_from_this(), response.stream_max_buffered_bytes);
    body_stream_->Queued(head_text.size());
    QueueStreamChunk(std::move(head_text));
    Tcp().socket().async_read_some(asio::buffer(watch_byte_, sizeof(watch_byte_)),
                                   [self = this->shared_from_this()](ErrorCode, size_t) { self->Close(); });
    try {
      response.on_stream(body_stream_);
    } catch (const std::exception& e) {
      ACCEL_LOG(kError, kLog) << "stream handler threw: " << e.what();
      Close();
    }
  }

  void QueueStreamChunk(std::string chunk) {
    if (closed_) return;
    stream_queue_.push_back(std::move(chunk));
    if (!stream_writing_) WriteNextChunk();
  }

  void WriteNextChunk() {
    if (closed_ || stream_queue_.empty()) {
      stream_writing_ = false;
      return;
    }
    stream_writing_ = true;
    stream_current_ = std::move(stream_queue_.front());
    stream_queue_.pop_front();
    Tcp().expires_after(shared_->options.idle_timeout);
    asio::async_write(stream_, asio::buffer(stream_current_),
                      [self = this->shared_from_this()](ErrorCode ec, size_t) {
                        self->body_stream_->Sent(self->stream_current_.size());
                        if (ec) return self->Close();
                        self->WriteNextChunk();
                      });
  }

  // Answers an error the server found itself, then closes the connection (the rest of the request, if any,
  // cannot be trusted to be framed correctly).
  void WriteError(int status, const std::string& message) {
    if (closed_) return;
    try {
      HttpResponse error = JsonErrorResponse(status, message);
      response_ = {};
      response_.version(11);
      response_.result(static_cast<unsigned>(status));
      const std::string& server_name = shared_->options.server_name;
      if (!server_name.empty()) response_.set(http::field::server, server_name);
      response_.set(http::field::content_type, error.content_type);
      response_.body() = std::move(error.body);
      response_.keep_alive(false);
      response_.prepare_payload();
    } catch (const std::exception&) {
      return Close();
    }
    close_after_write_ = true;
    linger_after_write_ = true;
    Write();
  }

  void Write() {
    Tcp().expires_after(shared_->options.idle_timeout);
    http::async_write(stream_, response_,
                      beast::bind_front_handler(&Session::OnWrite, this->shared_from_this()));
  }

  void OnWrite(ErrorCode ec, size_t) {
    if (ec) return Close();
    if (!close_after_write_) return ReadHeader();
    StopSending([self = this->shared_from_this()] {
      if (self->linger_after_write_) return self->LingerThenClose();
      self->Close();
    });
  }

  // Ends our direction of the connection, then calls `then`: over TLS a close_notify first (so that the peer
  // can tell our end from a cut connection), then TCP's FIN. It does not wait for the peer's close_notify:
  // OpenSSL's shutdown would, so the peer's is marked as received, which makes async_shutdown send ours and
  // finish.
  template <class Then>
  void StopSending(Then then) {
    if constexpr (kTls) {
      SSL* native = stream_.native_handle();
      SSL_set_shutdown(native, SSL_get_shutdown(native) | SSL_RECEIVED_SHUTDOWN);
      Tcp().expires_after(kLingerTime);
      stream_.async_shutdown([self = this->shared_from_this(), then = std::move(then)](ErrorCode) mutable {
        if (self->closed_) return;
        self->ShutdownSend();
        then();
      });
    } else {
      ShutdownSend();
      then();
    }
  }

  void ShutdownSend() {
    ErrorCode ignored;
    Tcp().socket().shutdown(tcp::socket::shutdown_send, ignored);
  }

  // Closing a socket with unread input makes the kernel send RST, which can destroy our error answer before
  // the client reads it. So after an error we stop sending (StopSending), then read and discard what the
  // client still sends, within bounds, and close when it hangs up. The discarded bytes are read from the TCP
  // layer: over TLS they need no decrypting.
  void LingerThenClose() {
    buffer_.consume(buffer_.size());
    Tcp().expires_after(kLingerTime);
    Drain();
  }

  void Drain() {
    if (closed_) return;
    if (!drain_buffer_) drain_buffer_ = std::make_unique<char[]>(kDrainChunk);
    Tcp().async_read_some(asio::buffer(drain_buffer_.get(), kDrainChunk),
                          [self = this->shared_from_this()](ErrorCode ec, size_t n) {
                            self->drained_ += n;
                            if (ec || self->drained_ > kLingerMaxBytes) return self->Close();
                            self->Drain();
                          });
  }

  static constexpr size_t kDrainChunk = 64 << 10;
  std::shared_ptr<Shared> shared_;  // first: destroyed last, after the socket
  Stream stream_;
  beast::flat_buffer buffer_{kReadBufferLimit};
  std::optional<http::request_parser<http::string_body>> parser_;
  http::response<http::string_body> response_;  // the answer being written
  std::string remote_address_;
  int remote_port_ = 0;
  std::optional<std::chrono::steady_clock::time_point> first_header_deadline_;  // until the first header
  unsigned version_ = 11;
  bool keep_alive_ = true;
  bool head_request_ = false;
  bool awaiting_response_ = false;
  bool close_after_write_ = false;
  bool linger_after_write_ = false;
  bool closed_ = false;
  bool waiting_for_request_ = false;  // between requests: reading a next header of which nothing arrived yet
  size_t drained_ = 0;
  std::unique_ptr<char[]> drain_buffer_;
  // Streaming response (StartStream): its body stream, the chunks waiting, the one being written.
  bool streaming_ = false;
  bool stream_writing_ = false;
  std::shared_ptr<BodyStream> body_stream_;
  std::deque<std::string> stream_queue_;
  std::string stream_current_;
  char watch_byte_[64];
};

// Answers a connection over the cap without giving it a session: one non-blocking write of a canned 503
// (the kernel's socket buffer takes it whole), then close; on a TLS port only the close (a plaintext answer
// would be garbage to a TLS client, and a handshake is the work the cap is there to refuse). Logged once
// per 1,000 refusals.
void RefuseConnection(Shared& shared, tcp::socket socket) {
  static constexpr std::string_view kBody =
      R"({"success":false,"error":"too many open connections; retry shortly"})";
  static const std::string kResponse =
      "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
      "Retry-After: 1\r\nConnection: close\r\nContent-Length: " +
      std::to_string(kBody.size()) + "\r\n\r\n" + std::string(kBody);
  ErrorCode ec;
  if (!shared.tls) {
    socket.non_blocking(true, ec);
    socket.write_some(asio::buffer(kResponse), ec);
  }
  socket.shutdown(tcp::socket::shutdown_both, ec);
  socket.close(ec);
  if (shared.refused_connections.fetch_add(1) % 1000 == 0)
    ACCEL_LOG(kWarn, kLog) << "connection refused with 503: " << shared.max_connections
                           << " connections open (the cap; see --max-connections), "
                           << shared.refused_connections.load() << " refused so far";
}

template <class Stream>
void StartSession(std::shared_ptr<Shared> shared, tcp::socket socket) {
  auto session = std::make_shared<Session<Stream>>(std::move(shared), std::move(socket));
  // Start on the connection's own thread; the acceptor runs on context 0.
  asio::post(session->executor(), [session] { session->Start(); });
}

// The OpenSSL context every TLS connection shares: TLS 1.2 or newer, no renegotiation, and, with a client
// CA, client certificates required and verified against it.
StatusOr<std::unique_ptr<ssl::context>> MakeTlsContext(const TlsCredentials& credentials) {
  try {
    auto context = std::make_unique<ssl::context>(ssl::context::tls_server);
    SSL_CTX* native = context->native_handle();
    if (SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION) != 1)
      return Internal("cannot set the minimum TLS version");
    context->set_options(ssl::context::default_workarounds | ssl::context::no_compression |
                         ssl::context::single_dh_use);
    // Client-initiated renegotiation (TLS 1.2) lets a peer make the server redo expensive handshakes.
    SSL_CTX_set_options(native, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
    // Idle kept-alive connections then hold no read/write buffers (~34 KiB each).
    SSL_CTX_set_mode(native, SSL_MODE_RELEASE_BUFFERS);
    // Session resumption with client certificates needs a context id (OpenSSL refuses to resume without).
    static constexpr unsigned char kSessionContext[] = "accel-http";
    SSL_CTX_set_session_id_context(native, kSessionContext, sizeof(kSessionContext) - 1);
    context->use_certificate_chain(asio::buffer(credentials.cert_chain_pem));
    context->use_private_key(asio::buffer(credentials.private_key_pem), ssl::context::pem);
    if (!credentials.client_ca_pem.empty()) {
      context->add_certificate_authority(asio::buffer(credentials.client_ca_pem));
      // Named in the certificate request, so that a client with several certificates sends the right one.
      BIO* bio = BIO_new_mem_buf(credentials.client_ca_pem.data(),
                                 static_cast<int>(credentials.client_ca_pem.size()));
      while (X509* ca = bio ? PEM_read_bio_X509(bio, nullptr, nullptr, nullptr) : nullptr) {
        SSL_CTX_add_client_CA(native, ca);
        X509_free(ca);
      }
      BIO_free(bio);
      ERR_clear_error();
      context->set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert);
    }
    return context;
  } catch (const boost::system::system_error& e) {
    return InvalidArgument(std::string("cannot set up TLS: ") + e.what());
  }
}

}  // namespace

struct HttpServer::Impl {
  std::shared_ptr<Shared> shared = std::make_shared<Shared>();
  std::unique_ptr<tcp::acceptor> acceptor;
  std::unique_ptr<asio::steady_timer> retry_timer;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards;
  std::vector<std::thread> threads;
  size_t next_context = 0;
  int port = 0;
  bool started = false;
  bool stopped = false;

  // Closes the listener (on its I/O thread) and returns the sessions still alive, for the caller to close
  // now (Stop) or after their answers (BeginDrain).
  std::vector<std::shared_ptr<Connection>> CloseListenerAndListSessions() {
    asio::post(*shared->contexts[0], [this] {
      ErrorCode ec;
      acceptor->close(ec);
      retry_timer->cancel();
    });
    std::vector<std::shared_ptr<Connection>> open;
    std::lock_guard<std::mutex> lock(shared->sessions_mu);
    for (auto& [raw, weak] : shared->sessions) {
      if (auto session = weak.lock()) open.push_back(std::move(session));
    }
    return open;
  }

  void Accept() {
    if (shared->stopping || shared->draining) return;
    auto& context = *shared->contexts[next_context++ % shared->contexts.size()];
    acceptor->async_accept(context.get_executor(), [this](ErrorCode ec, tcp::socket socket) {
      if (ec == asio::error::operation_aborted || shared->stopping || (ec && shared->draining)) return;
      if (ec) {
        // Typically EMFILE: back off instead of spinning on an accept that fails at once.
        ACCEL_LOG(kWarn, kLog) << "accept failed: " << ec.message();
        retry_timer->expires_after(std::chrono::milliseconds(50));
        retry_timer->async_wait([this](ErrorCode wait_ec) {
          if (!wait_ec) Accept();
        });
        return;
      }
      if (shared->open_connections.load() >= shared->max_connections) {
        RefuseConnection(*shared, std::move(socket));
        Accept();
        return;
      }
      try {
        if (shared->tls) {
          StartSession<TlsStream>(shared, std::move(socket));
        } else {
          StartSession<PlainStream>(shared, std::move(socket));
        }
      } catch (const std::exception& e) {
        ACCEL_LOG(kError, kLog) << "cannot start connection: " << e.what();
      }
      Accept();
    });
  }
};

HttpServer::HttpServer(Options options, HttpHandler handler) : impl_(std::make_unique<Impl>()) {
  impl_->shared->options = std::move(options);
  impl_->shared->handler = std::move(handler);
}

HttpServer::~HttpServer() { Stop(); }

Status HttpServer::Start() {
  Impl& impl = *impl_;
  if (impl.started) return FailedPrecondition("HTTP server already started");
  Shared& shared = *impl.shared;
  const Options& options = shared.options;
  if (options.port < 0 || options.port > 65535) {
    return InvalidArgument("invalid HTTP port " + std::to_string(options.port));
  }
  shared.max_connections = options.max_connections;
  if (shared.max_connections == 0) {
    rlimit files{};
    const size_t soft = getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur != RLIM_INFINITY
                            ? static_cast<size_t>(files.rlim_cur)
                            : 1024;
    shared.max_connections = soft > 256 + 16 ? soft - 256 : 16;
  }
  if (options.tls.enabled()) {
    ACCEL_ASSIGN_OR_RETURN(TlsCredentials credentials, LoadTlsCredentials(options.tls));
    ACCEL_ASSIGN_OR_RETURN(shared.tls, MakeTlsContext(credentials));
  }
  int threads = options.io_threads > 0 ? options.io_threads
                                       : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  try {
    for (int i = 0; i < threads; ++i) {
      // Concurrency hint 1: each context is run by exactly one thread (posting from others stays safe).
      shared.contexts.push_back(std::make_unique<asio::io_context>(1));
    }
    asio::io_context& context0 = *shared.contexts[0];
    std::string where = options.host + ":" + std::to_string(options.port);

    ErrorCode ec;
    tcp::endpoint endpoint;
    auto address = asio::ip::make_address(options.host, ec);
    if (!ec) {
      endpoint = tcp::endpoint(address, static_cast<unsigned short>(options.port));
    } else {
      tcp::resolver resolver(context0);
      auto results = resolver.resolve(options.host, std::to_string(options.port), ec);
      if (ec || results.empty()) {
        shared.contexts.clear();
        return InvalidArgument("cannot resolve HTTP host '" + options.host + "': " + ec.message());
      }
      endpoint = results.begin()->endpoint();
    }

    impl.acceptor = std::make_unique<tcp::acceptor>(context0);
    impl.retry_timer = std::make_unique<asio::steady_timer>(context0);
    auto fail = [&](const char* what) {
      impl.acceptor.reset();
      impl.retry_timer.reset();
      shared.contexts.clear();
      std::string reason = ec == asio::error::address_in_use ? "address already in use" : ec.message();
      return Unavailable(std::string("cannot ") + what + " HTTP on " + where + ": " + reason);
    };
    impl.acceptor->open(endpoint.protocol(), ec);
    if (ec) return fail("open socket for");
    impl.acceptor->set_option(asio::socket_base::reuse_address(true), ec);
    if (ec) return fail("set SO_REUSEADDR for");
    impl.acceptor->bind(endpoint, ec);
    if (ec) return fail("bind");
    impl.acceptor->listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return fail("listen");
    impl.port = impl.acceptor->local_endpoint(ec).port();

    impl.started = true;
    impl.Accept();
    for (auto& context : shared.contexts) impl.guards.push_back(asio::make_work_guard(*context));
    for (auto& context : shared.contexts) {
      impl.threads.emplace_back([context = context.get()] {
        // A throwing handler must not take the whole server down; log and keep serving.
        for (;;) {
          try {
            context->run();
            return;
          } catch (const std::exception& e) {
            ACCEL_LOG(kError, kLog) << "I/O thread caught: " << e.what();
          } catch (...) {
            ACCEL_LOG(kError, kLog) << "I/O thread caught a non-standard exception";
          }
        }
      });
    }
    ACCEL_LOG(kInfo, kLog)
        << "listening on " << endpoint.address().to_string() << ":" << impl.port << " ("
        << (shared.tls ? options.tls.client_ca_file.empty() ? "TLS, " : "TLS with client certificates, " : "")
        << threads << " I/O threads, body limit " << options.max_body_bytes << " bytes, at most "
        << shared.max_connections << " connections)";
  } catch (const std::exception& e) {
    return Internal(std::string("cannot start HTTP server: ") + e.what());
  }
  return Status::Ok();
}

int HttpServer::port() const { return impl_->port; }

void HttpServer::BeginDrain() {
  Impl& impl = *impl_;
  if (!impl.started || impl.stopped) return;
  Shared& shared = *impl.shared;
  if (shared.draining.exchange(true)) return;
  std::vector<std::shared_ptr<Connection>> open = impl.CloseListenerAndListSessions();
  for (auto& session : open) asio::post(session->executor(), [session] { session->CloseIfIdle(); });
  ACCEL_LOG(kInfo, kLog) << "draining: listener closed, " << open.size()
                         << " connection(s) open; each closes after its answer";
}

size_t HttpServer::WaitDrained(std::chrono::steady_clock::time_point deadline) {
  Shared& shared = *impl_->shared;
  std::unique_lock<std::mutex> lock(shared.sessions_mu);
  shared.session_closed.wait_until(lock, deadline, [&] { return shared.unclosed_connections.load() == 0; });
  return shared.unclosed_connections.load();
}

size_t HttpServer::connection_count() const {
  std::lock_guard<std::mutex> lock(impl_->shared->sessions_mu);
  return impl_->shared->sessions.size();
}

void HttpServer::Stop() {
  Impl& impl = *impl_;
  if (!impl.started || impl.stopped) return;
  impl.stopped = true;
  Shared& shared = *impl.shared;
  shared.stopping = true;

  std::vector<std::shared_ptr<Connection>> open = impl.CloseListenerAndListSessions();
  for (auto& session : open) {
    asio::post(session->executor(), [session] { session->Close(); });
  }
  open.clear();
  impl.guards.clear();

  // Closing cancels every pending operation, so the contexts run out of work quickly; the deadline only
  // guards against something unforeseen keeping one busy.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  auto all_stopped = [&] {
    return std::all_of(shared.contexts.begin(), shared.contexts.end(),
                       [](const auto& context) { return context->stopped(); });
  };
  while (!all_stopped() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  if (!all_stopped()) {
    ACCEL_LOG(kWarn, kLog) << "I/O threads still busy 2 s after stop; stopping them";
    for (auto& context : shared.contexts) context->stop();
  }
  for (auto& thread : impl.threads) {
    if (thread.get_id() == std::this_thread::get_id()) {
      thread.detach();  // Stop() from an I/O thread: cannot join ourselves
    } else if (thread.joinable()) {
      thread.join();
    }
  }
  impl.threads.clear();
  // The acceptor belongs to context 0, which is idle now; close it here in case the posted close never ran.
  ErrorCode ec;
  if (impl.acceptor) impl.acceptor->close(ec);
  impl.acceptor.reset();
  impl.retry_timer.reset();
  ACCEL_LOG(kInfo, kLog) << "stopped";
}

}  // namespace accel
