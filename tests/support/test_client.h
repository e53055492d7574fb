// A tiny synchronous Beast client for the HTTP tests (and nothing else), over plain TCP or TLS.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

namespace accel::testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

// How a TestClient speaks TLS: the CA it trusts (the server's name is checked against 127.0.0.1) and,
// optionally, a client certificate and key.
struct TestTls {
  std::string ca_file;
  std::string cert_file;  // "": no client certificate
  std::string key_file;
};

class TestClient {
 public:
  // Connects (and with `tls`, handshakes); throws boost::system::system_error when either fails.
  explicit TestClient(int port, const TestTls* tls = nullptr) {
    tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port));
    if (!tls) {
      plain_.emplace(context_);
      plain_->connect(endpoint);
    } else {
      ssl_context_ = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_client);
      ssl_context_->load_verify_file(tls->ca_file);
      ssl_context_->set_verify_mode(asio::ssl::verify_peer);
      ssl_context_->set_verify_callback(asio::ssl::host_name_verification("127.0.0.1"));
      if (!tls->cert_file.empty()) {
        ssl_context_->use_certificate_chain_file(tls->cert_file);
        ssl_context_->use_private_key_file(tls->key_file, asio::ssl::context::pem);
      }
      tls_.emplace(context_, *ssl_context_);
      beast::get_lowest_layer(*tls_).connect(endpoint);
      tls_->handshake(asio::ssl::stream_base::client);
    }
    stream().socket().set_option(tcp::no_delay(true));
    stream().expires_after(std::chrono::seconds(10));
  }

  http::response<http::string_body> Send(http::request<http::string_body> request) {
    if (request[http::field::host].empty()) request.set(http::field::host, "127.0.0.1");
    request.prepare_payload();
    stream().expires_after(std::chrono::seconds(10));
    Visit([&](auto& s) { http::write(s, request); });
    return Read(request.method() == http::verb::head);
  }

  http::response<http::string_body> Get(const std::string& target) {
    return Send(http::request<http::string_body>(http::verb::get, target, 11));
  }

  http::response<http::string_body> Post(const std::string& target, std::string body,
                                         const std::string& content_type = "application/octet-stream") {
    http::request<http::string_body> request(http::verb::post, target, 11);
    request.set(http::field::content_type, content_type);
    request.body() = std::move(body);
    return Send(std::move(request));
  }

  void WriteRaw(const std::string& bytes) {
    stream().expires_after(std::chrono::seconds(10));
    Visit([&](auto& s) { asio::write(s, asio::buffer(bytes)); });
  }

  // Reads one response; throws boost::system::system_error on EOF or error.
  http::response<http::string_body> Read(bool head = false) {
    http::response_parser<http::string_body> parser;
    parser.body_limit(256u << 20);
    parser.skip(head);
    stream().expires_after(std::chrono::seconds(10));
    Visit([&](auto& s) { http::read(s, buffer_, parser); });
    return parser.release();
  }

  // True when the server closed the connection (the next read hits EOF) within the stream timeout. Over
  // TLS, a close without close_notify (a timeout, a refused handshake) counts too.
  bool ReadsEof(std::chrono::seconds timeout = std::chrono::seconds(10)) {
    if (buffer_.size() > 0) return false;
    beast::error_code ec = ReadOneByte(timeout);
    return ec == asio::error::eof || ec == asio::error::connection_reset ||
           ec == asio::ssl::error::stream_truncated;
  }

  // How reading one more byte ends (over TLS: eof after the server's close_notify, stream_truncated
  // without one); success when a byte came.
  beast::error_code ReadOneByte(std::chrono::seconds timeout = std::chrono::seconds(10)) {
    stream().expires_after(timeout);
    char byte;
    beast::error_code ec;
    Visit([&](auto& s) { s.read_some(asio::buffer(&byte, 1), ec); });
    return ec;
  }

  // The TCP stream (under TLS, the layer below it).
  beast::tcp_stream& stream() { return tls_ ? beast::get_lowest_layer(*tls_) : *plain_; }

 private:
  template <class F>
  void Visit(F&& f) {
    if (tls_) {
      f(*tls_);
    } else {
      f(*plain_);
    }
  }

  asio::io_context context_;
  std::unique_ptr<asio::ssl::context> ssl_context_;  // outlives tls_
  std::optional<beast::tcp_stream> plain_;
  std::optional<beast::ssl_stream<beast::tcp_stream>> tls_;
  beast::flat_buffer buffer_;
};

}  // namespace accel::testing
