// HttpServer's graceful drain (BeginDrain, WaitDrained): the listener closes, idle keep-alive connections
// close, a request in flight is still answered (with Connection: close) and only then does its connection
// close; a request that outlives the wait is left to Stop().
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <vector>

#include <gtest/gtest.h>

#include "api/http_server.h"
#include "test_client.h"

namespace accel {
namespace {

using testing::TestClient;
using Clock = std::chrono::steady_clock;

class HttpServerDrainTest : public ::testing::Test {
 protected:
  void SetUp() override {
    HttpServer::Options options;
    options.host = "127.0.0.1";
    options.port = 0;
    options.io_threads = 2;
    server_ = std::make_unique<HttpServer>(options, [this](HttpRequest&& request, HttpResponder responder) {
      if (request.path == "/hold") {  // answered by the test, through TakeHeld()
        std::lock_guard<std::mutex> lock(mu_);
        held_.push_back(std::move(responder));
        cv_.notify_all();
        return;
      }
      HttpResponse response;
      response.body = "ok";
      response.content_type = "text/plain";
      responder(std::move(response));
    });
    ASSERT_TRUE(server_->Start().ok());
    port_ = server_->port();
  }

  HttpResponder TakeHeld() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, std::chrono::seconds(10), [&] { return !held_.empty(); });
    if (held_.empty()) return nullptr;
    HttpResponder responder = std::move(held_.back());
    held_.pop_back();
    return responder;
  }

  // True once a new connection is refused (the listener closes on the acceptor's thread, shortly after
  // BeginDrain returns); a connection that still gets in is closed again by the client.
  bool NewConnectionsRefusedWithin(std::chrono::seconds limit) {
    const auto deadline = Clock::now() + limit;
    while (Clock::now() < deadline) {
      try {
        TestClient probe(port_);
      } catch (const boost::system::system_error&) {
        return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<HttpResponder> held_;
  std::unique_ptr<HttpServer> server_;
  int port_ = 0;
};

TEST_F(HttpServerDrainTest, InFlightRequestFinishesIdleConnectionClosesNewOnesRefused) {
  TestClient idle(port_);
  auto first = idle.Get("/fine");
  ASSERT_EQ(first.result_int(), 200);
  ASSERT_TRUE(first.keep_alive());

  TestClient busy(port_);
  busy.WriteRaw("GET /hold HTTP/1.1\r\nHost: a\r\n\r\n");
  HttpResponder responder = TakeHeld();
  ASSERT_TRUE(responder);

  server_->BeginDrain();
  server_->BeginDrain();  // idempotent
  EXPECT_TRUE(idle.ReadsEof());
  EXPECT_TRUE(NewConnectionsRefusedWithin(std::chrono::seconds(5)));
  // The held request keeps its connection open.
  EXPECT_EQ(server_->WaitDrained(Clock::now() + std::chrono::milliseconds(50)), 1u);

  HttpResponse late;
  late.body = "late";
  responder(std::move(late));
  auto answer = busy.Read();
  EXPECT_EQ(answer.result_int(), 200);
  EXPECT_EQ(answer.body(), "late");
  EXPECT_FALSE(answer.keep_alive());  // Connection: close
  EXPECT_TRUE(busy.ReadsEof());
  EXPECT_EQ(server_->WaitDrained(Clock::now() + std::chrono::seconds(10)), 0u);
  server_->Stop();
}

TEST_F(HttpServerDrainTest, RequestOutlivingTheWaitIsEndedByStop) {
  TestClient busy(port_);
  busy.WriteRaw("GET /hold HTTP/1.1\r\nHost: a\r\n\r\n");
  HttpResponder responder = TakeHeld();
  ASSERT_TRUE(responder);
  server_->BeginDrain();
  const auto start = Clock::now();
  EXPECT_EQ(server_->WaitDrained(start + std::chrono::milliseconds(200)), 1u);
  EXPECT_GE(Clock::now() - start, std::chrono::milliseconds(200));
  server_->Stop();
  EXPECT_TRUE(busy.ReadsEof());
  responder(HttpResponse{});  // after Stop: ignored
}

TEST_F(HttpServerDrainTest, NothingOpenDrainsAtOnce) {
  { TestClient gone(port_); }
  server_->BeginDrain();
  EXPECT_EQ(server_->WaitDrained(Clock::now() + std::chrono::seconds(10)), 0u);
}

}  // namespace
}  // namespace accel
