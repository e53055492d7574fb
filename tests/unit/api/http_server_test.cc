#include "api/http_server.h"

#include <atomic>
#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "test_client.h"
#include "test_pki.h"

namespace accel {
namespace {

using testing::TestClient;
using testing::TestPki;
using testing::TestTls;
namespace http = boost::beast::http;
using Json = nlohmann::json;

// Runs deferred responders on its own thread, after a delay; joined by the destructor.
class DelayedResponder {
 public:
  ~DelayedResponder() {
    for (auto& t : threads_) t.join();
  }
  void Later(std::chrono::milliseconds delay, HttpResponder responder, HttpResponse response) {
    std::lock_guard<std::mutex> lock(mu_);
    threads_.emplace_back([delay, responder = std::move(responder), response = std::move(response)] {
      std::this_thread::sleep_for(delay);
      responder(response);
    });
  }

 private:
  std::mutex mu_;
  std::vector<std::thread> threads_;
};

// Every test runs twice: over plain TCP and over TLS (parameter true), with the same expectations, since
// the server's HTTP behaviour must not depend on the transport.
class HttpServerTest : public ::testing::TestWithParam<bool> {
 protected:
  static void SetUpTestSuite() { pki_ = std::make_unique<TestPki>(); }
  static void TearDownTestSuite() { pki_.reset(); }

  void SetUp() override { tls_ = TestTls{pki_->ca_cert, "", ""}; }

  // The client side of the transport under test: null for plain TCP. Any thread.
  const TestTls* tls() const { return GetParam() ? &tls_ : nullptr; }

  void StartServer(HttpServer::Options options = {}) {
    options.host = "127.0.0.1";
    options.port = 0;
    if (options.io_threads == 0) options.io_threads = 2;
    if (GetParam()) options.tls = TlsFiles{pki_->server_cert, pki_->server_key_file, ""};
    server_ = std::make_unique<HttpServer>(options, [this](HttpRequest&& request, HttpResponder responder) {
      Handle(std::move(request), std::move(responder));
    });
    ASSERT_TRUE(server_->Start().ok());
    ASSERT_GT(server_->port(), 0);
  }

  // Echoes what it saw as JSON; a few paths behave specially.
  void Handle(HttpRequest&& request, HttpResponder responder) {
    ++handled_;
    if (request.path == "/slow") {
      HttpResponse response;
      response.body = "slow";
      response.content_type = "text/plain";
      delayed_.Later(std::chrono::milliseconds(100), std::move(responder), std::move(response));
      return;
    }
    if (request.path == "/throw") throw std::runtime_error("boom");
    if (request.path == "/drop") return;  // never responds: the server must answer 500
    if (request.path == "/keep") {
      std::lock_guard<std::mutex> lock(kept_mu_);
      kept_.push_back(std::move(responder));
      kept_cv_.notify_all();
      return;
    }
    if (request.path == "/status") {
      HttpResponse response;
      response.status = std::stoi(request.QueryParam("code").value_or("200"));
      response.headers.emplace_back("Retry-After", "1");
      responder(std::move(response));
      return;
    }
    Json out = {{"method", request.method},
                {"path", request.path},
                {"query", request.query},
                {"name", request.QueryParam("name").value_or("<none>")},
                {"x_test", std::string(request.Header("X-TEST"))},
                {"body_size", request.body.size()},
                {"body_prefix", request.body.substr(0, 16)},
                {"remote", request.remote_address},
                {"remote_port", request.remote_port},
                {"version", request.version}};
    HttpResponse response;
    response.body = out.dump();
    responder(std::move(response));
  }

  HttpResponder WaitForKept() {
    std::unique_lock<std::mutex> lock(kept_mu_);
    kept_cv_.wait_for(lock, std::chrono::seconds(10), [&] { return !kept_.empty(); });
    if (kept_.empty()) return nullptr;
    HttpResponder r = kept_.back();
    kept_.pop_back();
    return r;
  }

  static std::unique_ptr<TestPki> pki_;
  TestTls tls_;
  DelayedResponder delayed_;  // declared before server_: joined after the server is gone
  std::unique_ptr<HttpServer> server_;
  std::atomic<int> handled_{0};
  std::mutex kept_mu_;
  std::condition_variable kept_cv_;
  std::vector<HttpResponder> kept_;
};

TEST_P(HttpServerTest, GetReachesHandler) {
  StartServer();
  TestClient client(server_->port(), tls());
  http::request<http::string_body> request(http::verb::get, "/a/b%20c?name=x+y%21&z", 11);
  request.set("X-Test", "hello");
  auto response = client.Send(std::move(request));
  EXPECT_EQ(response.result_int(), 200);
  EXPECT_EQ(response[http::field::content_type], "application/json");
  EXPECT_EQ(response[http::field::server], "accel");
  Json body = Json::parse(response.body());
  EXPECT_EQ(body["method"], "GET");
  EXPECT_EQ(body["path"], "/a/b%20c");
  EXPECT_EQ(body["query"], "name=x+y%21&z");
  EXPECT_EQ(body["name"], "x y!");
  EXPECT_EQ(body["x_test"], "hello");
  EXPECT_EQ(body["remote"], "127.0.0.1");
  EXPECT_EQ(body["version"], 11);
}

TEST_P(HttpServerTest, PostBodyArrivesWhole) {
  StartServer();
  TestClient client(server_->port(), tls());
  std::string payload(3 << 20, 'q');
  payload.replace(0, 5, "START");
  auto response = client.Post("/upload", payload);
  ASSERT_EQ(response.result_int(), 200);
  Json body = Json::parse(response.body());
  EXPECT_EQ(body["body_size"], payload.size());
  EXPECT_EQ(body["body_prefix"], payload.substr(0, 16));
}

TEST_P(HttpServerTest, ChunkedRequestBody) {
  StartServer();
  TestClient client(server_->port(), tls());
  client.WriteRaw(
      "POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n");
  auto response = client.Read();
  ASSERT_EQ(response.result_int(), 200);
  EXPECT_EQ(Json::parse(response.body())["body_prefix"], "hello world");
}

TEST_P(HttpServerTest, KeepAliveServesManyRequestsOnOneConnection) {
  StartServer();
  TestClient client(server_->port(), tls());
  int first_port = -1;
  for (int i = 0; i < 20; ++i) {
    auto response = client.Get("/k?i=" + std::to_string(i));
    ASSERT_EQ(response.result_int(), 200) << i;
    EXPECT_TRUE(response.keep_alive());
    int port = Json::parse(response.body())["remote_port"];
    if (first_port < 0) first_port = port;
    EXPECT_EQ(port, first_port) << "request " << i << " arrived on a new connection";
  }
  EXPECT_EQ(handled_.load(), 20);
}

TEST_P(HttpServerTest, Http10ClosesUnlessKeepAlive) {
  StartServer();
  {
    TestClient client(server_->port(), tls());
    client.WriteRaw("GET /old HTTP/1.0\r\n\r\n");
    auto response = client.Read();
    EXPECT_EQ(response.result_int(), 200);
    EXPECT_EQ(response.version(), 10u);
    EXPECT_EQ(Json::parse(response.body())["version"], 10);
    EXPECT_TRUE(client.ReadsEof());
  }
  {
    TestClient client(server_->port(), tls());
    for (int i = 0; i < 3; ++i) {
      client.WriteRaw("GET /old HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
      auto response = client.Read();
      EXPECT_EQ(response.result_int(), 200);
      EXPECT_TRUE(response.keep_alive());
    }
  }
}

TEST_P(HttpServerTest, ConnectionCloseIsHonoured) {
  StartServer();
  TestClient client(server_->port(), tls());
  client.WriteRaw("GET /x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
  auto response = client.Read();
  EXPECT_EQ(response.result_int(), 200);
  EXPECT_FALSE(response.keep_alive());
  EXPECT_TRUE(client.ReadsEof());
}

TEST_P(HttpServerTest, PipelinedRequestsAnsweredInOrder) {
  StartServer();
  TestClient client(server_->port(), tls());
  // The slow one is answered from another thread after 100 ms; the fast one must still come second.
  client.WriteRaw(
      "GET /slow HTTP/1.1\r\nHost: a\r\n\r\nGET /fast?name=2 HTTP/1.1\r\nHost: a\r\n\r\n"
      "POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc");
  auto first = client.Read();
  auto second = client.Read();
  auto third = client.Read();
  EXPECT_EQ(first.body(), "slow");
  EXPECT_EQ(Json::parse(second.body())["name"], "2");
  EXPECT_EQ(Json::parse(third.body())["body_prefix"], "abc");
}

TEST_P(HttpServerTest, ResponderFromAnotherThreadAfterDelay) {
  StartServer();
  TestClient client(server_->port(), tls());
  for (int i = 0; i < 3; ++i) {
    auto start = std::chrono::steady_clock::now();
    auto response = client.Get("/slow");
    EXPECT_EQ(response.result_int(), 200);
    EXPECT_EQ(response.body(), "slow");
    EXPECT_EQ(response[http::field::content_type], "text/plain");
    EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(90));
  }
}

TEST_P(HttpServerTest, BodyOverLimitGets413Json) {
  HttpServer::Options options;
  options.max_body_bytes = 1024;
  StartServer(options);
  {
    TestClient client(server_->port(), tls());
    auto response = client.Post("/big", std::string(4096, 'x'));
    EXPECT_EQ(response.result_int(), 413);
    Json body = Json::parse(response.body());
    EXPECT_EQ(body["success"], false);
    EXPECT_NE(body["error"].get<std::string>().find("1024"), std::string::npos);
    EXPECT_TRUE(client.ReadsEof());
  }
  {
    // Chunked: the size is only known while reading.
    TestClient client(server_->port(), tls());
    std::string chunk(800, 'y');
    client.WriteRaw("POST /big HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n320\r\n" + chunk +
                    "\r\n320\r\n" + chunk + "\r\n0\r\n\r\n");
    auto response = client.Read();
    EXPECT_EQ(response.result_int(), 413);
  }
  {
    // At the limit is fine, and the server is still healthy.
    TestClient client(server_->port(), tls());
    auto response = client.Post("/ok", std::string(1024, 'z'));
    EXPECT_EQ(response.result_int(), 200);
  }
}

TEST_P(HttpServerTest, Expect100Continue) {
  StartServer();
  TestClient client(server_->port(), tls());
  client.WriteRaw("POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n");
  auto interim = client.Read();
  EXPECT_EQ(interim.result_int(), 100);
  client.WriteRaw("12345");
  auto response = client.Read();
  EXPECT_EQ(response.result_int(), 200);
  EXPECT_EQ(Json::parse(response.body())["body_prefix"], "12345");
}

TEST_P(HttpServerTest, Expect100ContinueOverLimitRejectedBeforeBody) {
  HttpServer::Options options;
  options.max_body_bytes = 100;
  StartServer(options);
  TestClient client(server_->port(), tls());
  client.WriteRaw("POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: 5000\r\nExpect: 100-continue\r\n\r\n");
  auto response = client.Read();
  EXPECT_EQ(response.result_int(), 413);
}

TEST_P(HttpServerTest, GarbageGets400OrCloseAndServerSurvives) {
  StartServer();
  const std::vector<std::string> garbage = {
      std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11) + "\r\n\r\n",  // a TLS hello
      "GET / HTTP/9.9\r\n\r\n",
      "GET /\r\n\r\n",
      "POST / HTTP/1.1\r\nContent-Length: abc\r\n\r\n",
      "POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello",
      "GET / HTTP/1.1\r\nBad Header Without Colon\r\n\r\n",
      std::string(300, '\0') + "\r\n\r\n",
      "\r\n\r\n\r\n\r\n",
  };
  for (const auto& bytes : garbage) {
    TestClient client(server_->port(), tls());
    client.WriteRaw(bytes);
    try {
      auto response = client.Read();
      EXPECT_EQ(response.result_int(), 400)
          << "input: " << Json(bytes).dump(-1, ' ', true, Json::error_handler_t::replace);
      EXPECT_EQ(Json::parse(response.body())["success"], false);
    } catch (const boost::system::system_error&) {
      // Closing without an answer is also acceptable.
    }
  }
  TestClient client(server_->port(), tls());
  EXPECT_EQ(client.Get("/after").result_int(), 200);
}

TEST_P(HttpServerTest, HeadersOverLimitGet431) {
  HttpServer::Options options;
  options.max_header_bytes = 2048;
  StartServer(options);
  TestClient client(server_->port(), tls());
  http::request<http::string_body> request(http::verb::get, "/h", 11);
  request.set("X-Big", std::string(4096, 'h'));
  auto response = client.Send(std::move(request));
  EXPECT_EQ(response.result_int(), 431);
}

TEST_P(HttpServerTest, HandlerThatThrowsOrForgetsGets500) {
  StartServer();
  TestClient client(server_->port(), tls());
  auto thrown = client.Get("/throw");
  EXPECT_EQ(thrown.result_int(), 500);
  EXPECT_EQ(Json::parse(thrown.body())["success"], false);
  auto dropped = client.Get("/drop");
  EXPECT_EQ(dropped.result_int(), 500);
  EXPECT_EQ(client.Get("/fine").result_int(), 200);  // same connection still usable
}

TEST_P(HttpServerTest, StatusAndHeadersFromHandler) {
  StartServer();
  TestClient client(server_->port(), tls());
  auto response = client.Get("/status?code=503");
  EXPECT_EQ(response.result_int(), 503);
  EXPECT_EQ(response["Retry-After"], "1");
  auto invalid = client.Get("/status?code=42");
  EXPECT_EQ(invalid.result_int(), 500);
  auto no_content = client.Get("/status?code=204");
  EXPECT_EQ(no_content.result_int(), 204);
  EXPECT_EQ(client.Get("/fine").result_int(), 200);
}

TEST_P(HttpServerTest, HeadHasLengthButNoBody) {
  StartServer();
  TestClient client(server_->port(), tls());
  auto response = client.Send(http::request<http::string_body>(http::verb::head, "/h", 11));
  EXPECT_EQ(response.result_int(), 200);
  EXPECT_GT(std::stoul(std::string(response[http::field::content_length])), 10u);
  EXPECT_TRUE(response.body().empty());
  EXPECT_EQ(client.Get("/after-head").result_int(), 200);  // framing intact
}

TEST_P(HttpServerTest, RespondingAfterClientLeftIsHarmless) {
  StartServer();
  {
    TestClient client(server_->port(), tls());
    client.WriteRaw("GET /keep HTTP/1.1\r\nHost: a\r\n\r\n");
    HttpResponder responder = WaitForKept();
    ASSERT_TRUE(responder);
    client.stream().close();
    responder(HttpResponse{});  // may race with the server noticing the close; either way no crash
    responder(HttpResponse{});  // second call ignored
  }
  TestClient client(server_->port(), tls());
  EXPECT_EQ(client.Get("/fine").result_int(), 200);
}

TEST_P(HttpServerTest, RespondingAfterStopIsHarmless) {
  StartServer();
  TestClient client(server_->port(), tls());
  client.WriteRaw("GET /keep HTTP/1.1\r\nHost: a\r\n\r\n");
  HttpResponder responder = WaitForKept();
  ASSERT_TRUE(responder);
  server_->Stop();
  server_->Stop();  // idempotent
  responder(HttpResponse{});
  server_.reset();
  responder = nullptr;  // last reference: the connection is destroyed here, after the server
  EXPECT_TRUE(client.ReadsEof());
}

TEST_P(HttpServerTest, ManyConcurrentConnections) {
  StartServer();
  constexpr int kClients = 48;
  constexpr int kRequests = 25;
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int c = 0; c < kClients; ++c) {
    threads.emplace_back([&, c] {
      try {
        TestClient client(server_->port(), tls());
        for (int i = 0; i < kRequests; ++i) {
          auto response = client.Post("/c" + std::to_string(c), std::string(100 + i, 'a'));
          if (response.result_int() == 200 && Json::parse(response.body())["body_size"] == 100 + i) ++ok;
        }
      } catch (const std::exception&) {
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), kClients * kRequests);
}

TEST_P(HttpServerTest, IdleConnectionIsClosedQuietly) {
  HttpServer::Options options;
  options.header_timeout =
      std::chrono::seconds(1);  // a kept-alive connection waits this for its next request
  StartServer(options);
  TestClient client(server_->port(), tls());
  EXPECT_EQ(client.Get("/x").result_int(), 200);
  auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(client.ReadsEof(std::chrono::seconds(5)));
  auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_GE(waited, std::chrono::milliseconds(800));
  EXPECT_LT(waited, std::chrono::seconds(4));
}

std::unique_ptr<TestPki> HttpServerTest::pki_;

INSTANTIATE_TEST_SUITE_P(Transport, HttpServerTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Tls" : "Plain";
                         });

TEST(HttpServerStartTest, AddressInUseIsAClearError) {
  HttpServer::Options options;
  options.host = "127.0.0.1";
  options.port = 0;
  options.io_threads = 1;
  HttpServer first(options, [](HttpRequest&&, HttpResponder r) { r(HttpResponse{}); });
  ASSERT_TRUE(first.Start().ok());
  options.port = first.port();
  HttpServer second(options, [](HttpRequest&&, HttpResponder r) { r(HttpResponse{}); });
  Status status = second.Start();
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.code(), StatusCode::kUnavailable);
  EXPECT_NE(status.message().find("address already in use"), std::string::npos) << status.message();
  EXPECT_NE(status.message().find(std::to_string(first.port())), std::string::npos);
  EXPECT_FALSE(first.Start().ok());  // twice
}

TEST(HttpServerStartTest, StopWithoutStartAndBadHost) {
  HttpServer::Options options;
  options.host = "no-such-host.invalid";
  options.port = 0;
  HttpServer server(options, [](HttpRequest&&, HttpResponder r) { r(HttpResponse{}); });
  server.Stop();
  EXPECT_FALSE(server.Start().ok());
}

TEST(HttpTypesTest, HeaderAndQueryHelpers) {
  HttpRequest request;
  request.headers = {{"Content-Type", "image/jpeg"}, {"X-A", "1"}, {"x-a", "2"}};
  request.query = "a=1&b=&c&d=%7e+x&a=2&bad=%zz";
  EXPECT_EQ(request.Header("content-type"), "image/jpeg");
  EXPECT_EQ(request.Header("X-A"), "1");
  EXPECT_EQ(request.Header("missing"), "");
  EXPECT_EQ(request.QueryParam("a"), "1");
  EXPECT_EQ(request.QueryParam("b"), "");
  EXPECT_EQ(request.QueryParam("c"), "");
  EXPECT_EQ(request.QueryParam("d"), "~ x");
  EXPECT_EQ(request.QueryParam("bad"), "%zz");
  EXPECT_FALSE(request.QueryParam("e").has_value());
  EXPECT_FALSE(UrlDecodeStrict("%zz", true).ok());
  EXPECT_EQ(UrlDecode("a+b", false), "a+b");
}

TEST(HttpTypesTest, JsonErrorResponse) {
  HttpResponse r = JsonErrorResponse(ResourceExhausted("queues full"));
  EXPECT_EQ(r.status, 503);
  ASSERT_EQ(r.headers.size(), 1u);
  EXPECT_EQ(r.headers[0].first, "Retry-After");
  Json body = Json::parse(r.body);
  EXPECT_EQ(body["success"], false);
  EXPECT_EQ(body["error"], "queues full");
  Json invalid_utf8 = Json::parse(JsonErrorResponse(400, "bad \xff byte").body);
  EXPECT_EQ(invalid_utf8["success"], false);
}

}  // namespace
}  // namespace accel
