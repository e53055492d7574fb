// A tiny synchronous Beast client for the HTTP tests (and nothing else).
#pragma once

#include <chrono>
#include <string>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace accel::testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

class TestClient {
 public:
  explicit TestClient(int port) : stream_(context_) {
    stream_.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)));
    stream_.socket().set_option(tcp::no_delay(true));
    stream_.expires_after(std::chrono::seconds(10));
  }

  http::response<http::string_body> Send(http::request<http::string_body> request) {
    if (request[http::field::host].empty()) request.set(http::field::host, "127.0.0.1");
    request.prepare_payload();
    stream_.expires_after(std::chrono::seconds(10));
    http::write(stream_, request);
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
    stream_.expires_after(std::chrono::seconds(10));
    asio::write(stream_, asio::buffer(bytes));
  }

  // Reads one response; throws boost::system::system_error on EOF or error.
  http::response<http::string_body> Read(bool head = false) {
    http::response_parser<http::string_body> parser;
    parser.body_limit(256u << 20);
    parser.skip(head);
    stream_.expires_after(std::chrono::seconds(10));
    http::read(stream_, buffer_, parser);
    return parser.release();
  }

  // True when the server closed the connection (the next read hits EOF) within the stream timeout.
  bool ReadsEof(std::chrono::seconds timeout = std::chrono::seconds(10)) {
    stream_.expires_after(timeout);
    char byte;
    beast::error_code ec;
    if (buffer_.size() > 0) return false;
    stream_.read_some(asio::buffer(&byte, 1), ec);
    return ec == asio::error::eof || ec == asio::error::connection_reset;
  }

  beast::tcp_stream& stream() { return stream_; }

 private:
  asio::io_context context_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
};

}  // namespace accel::testing
