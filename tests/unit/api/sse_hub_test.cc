// SseHub behind a real HttpServer, with raw socket clients: a client that never reads is disconnected once
// its queue is full while the others keep receiving; the client limit answers a clear 503 JSON.
#include "api/sse_hub.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "api/http_server.h"
#include "streams/stream_event.h"

namespace accel {
namespace {

using Clock = std::chrono::steady_clock;

template <class Condition>
bool WaitFor(Condition condition, std::chrono::seconds timeout = std::chrono::seconds(20)) {
  const auto deadline = Clock::now() + timeout;
  while (!condition()) {
    if (Clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

// A plain TCP client of the events endpoint. `receive_buffer` > 0: a small kernel receive buffer (set
// before connecting), so that a client that never reads fills up quickly.
class RawClient {
 public:
  RawClient(int port, int receive_buffer = 0) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (receive_buffer > 0) ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof receive_buffer);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
    const std::string request = "GET /ai/streams/cam/events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    connected_ = connected_ && ::send(fd_, request.data(), request.size(), MSG_NOSIGNAL) ==
                                   static_cast<ssize_t>(request.size());
  }
  ~RawClient() { Close(); }
  void Close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  bool connected() const { return connected_; }

  // Reads what is there within `timeout`; false at EOF or an error (the server closed the connection).
  bool ReadSome(std::chrono::milliseconds timeout) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return true;  // nothing yet
    char buffer[65536];
    const ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
    if (n <= 0) return false;
    std::lock_guard<std::mutex> lock(mu_);
    received_.append(buffer, static_cast<size_t>(n));
    return true;
  }
  // Reads until `text` has arrived (true) or the connection ends / the time is up (false).
  bool ReadUntil(const std::string& text, std::chrono::seconds timeout = std::chrono::seconds(20)) {
    const auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline) {
      if (received().find(text) != std::string::npos) return true;
      if (!ReadSome(std::chrono::milliseconds(50))) return received().find(text) != std::string::npos;
    }
    return false;
  }
  // Reads until the server closes the connection; true when it did within `timeout`.
  bool ReadToEof(std::chrono::seconds timeout = std::chrono::seconds(20)) {
    const auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline)
      if (!ReadSome(std::chrono::milliseconds(50))) return true;
    return false;
  }
  std::string received() const {
    std::lock_guard<std::mutex> lock(mu_);
    return received_;
  }
  size_t received_bytes() const {
    std::lock_guard<std::mutex> lock(mu_);
    return received_.size();
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
  mutable std::mutex mu_;
  std::string received_;
};

class SseHubTest : public ::testing::Test {
 protected:
  void Start(SseHub::Options hub_options) {
    hub_ = std::make_unique<SseHub>(hub_options);
    HttpServer::Options options;
    options.host = "127.0.0.1";
    options.port = 0;
    options.io_threads = 2;
    options.max_connections = 256;
    server_ = std::make_unique<HttpServer>(
        options, [this](HttpRequest&&, HttpResponder respond) { respond(hub_->Subscribe("cam")); });
    ASSERT_TRUE(server_->Start().ok());
  }
  void TearDown() override {
    if (hub_) hub_->CloseAll();
    server_.reset();
    hub_.reset();
  }
  int port() const { return server_->port(); }

  // The hub must outlive the server's sessions (they hold its on_stream callbacks): declared first.
  std::unique_ptr<SseHub> hub_;
  std::unique_ptr<HttpServer> server_;
};

StreamEvent Event(std::uint64_t track_id, size_t padding) {
  StreamEvent e;
  e.stream = "cam";
  e.track_id = track_id;
  e.label = "person";
  e.zones = {std::string(padding, 'z')};  // makes each event about `padding` bytes long
  return e;
}

TEST_F(SseHubTest, AClientThatNeverReadsIsDisconnectedAndTheOthersKeepReceiving) {
  Start({.max_clients = 64, .keepalive = std::chrono::seconds(60), .max_buffered_bytes = 64 << 10});
  RawClient stalled(port(), /*receive_buffer=*/4096);  // never reads
  RawClient reader(port());
  ASSERT_TRUE(stalled.connected());
  ASSERT_TRUE(reader.connected());
  ASSERT_TRUE(WaitFor([&] { return hub_->client_count() == 2; }));

  // The reader reads all along; the events are paced by what it has received (never more than half its
  // queue bound ahead), so that only the stalled client can fall behind, however loaded the machine.
  std::atomic<bool> reading{true};
  std::thread reader_thread([&] {
    while (reading && reader.ReadSome(std::chrono::milliseconds(20))) {
    }
  });
  constexpr size_t kMaxBytes = 256u << 20;  // the kernel's socket buffers take a few MB at most
  size_t published_bytes = 0;
  std::uint64_t id = 0;
  while (hub_->client_count() == 2 && published_bytes < kMaxBytes) {
    ASSERT_TRUE(WaitFor([&] { return reader.received_bytes() + (32u << 10) >= published_bytes; }))
        << "the reader fell behind: " << reader.received_bytes() << " of " << published_bytes << " bytes";
    for (int i = 0; i < 8; ++i) {
      const StreamEvent event = Event(++id, 1000);
      published_bytes += std::string("event: start\ndata: " + StreamEventJson(event) + "\n\n").size();
      hub_->Publish(event);
    }
  }
  EXPECT_LT(published_bytes, kMaxBytes) << "the stalled client was never disconnected";
  EXPECT_EQ(hub_->client_count(), 1u);
  EXPECT_GE(hub_->Stats().dropped, 1u);

  // The reader still gets what comes next.
  StreamEvent last = Event(999999, 10);
  last.label = "the-last-one";
  hub_->Publish(last);
  reading = false;
  reader_thread.join();
  EXPECT_TRUE(reader.ReadUntil("the-last-one"));
  EXPECT_EQ(hub_->client_count(), 1u);
  // The stalled client's connection was closed by the server: reading it now drains what the kernel holds,
  // then ends.
  EXPECT_TRUE(stalled.ReadToEof());
  EXPECT_EQ(stalled.received().rfind("HTTP/1.1 200", 0), 0u);
}

TEST_F(SseHubTest, TheClientOverTheLimitGetsA503JsonError) {
  Start({.max_clients = 64, .keepalive = std::chrono::seconds(60), .max_buffered_bytes = 256 << 10});
  std::vector<std::unique_ptr<RawClient>> clients;
  for (int i = 0; i < 64; ++i) {
    clients.push_back(std::make_unique<RawClient>(port()));
    ASSERT_TRUE(clients.back()->connected()) << i;
  }
  ASSERT_TRUE(WaitFor([&] { return hub_->client_count() == 64; }));

  RawClient over(port());
  ASSERT_TRUE(over.connected());
  ASSERT_TRUE(over.ReadUntil("}"));
  const std::string response = over.received();
  EXPECT_EQ(response.rfind("HTTP/1.1 503", 0), 0u) << response;
  EXPECT_NE(response.find("application/json"), std::string::npos) << response;
  const auto body = nlohmann::json::parse(response.substr(response.find("\r\n\r\n") + 4));
  EXPECT_EQ(body["success"], false) << body;
  EXPECT_NE(body["error"].get<std::string>().find("too many event clients (64)"), std::string::npos) << body;
  EXPECT_EQ(hub_->client_count(), 64u);

  // Every subscribed client still receives; once one leaves (noticed at the next event), a new one fits.
  hub_->Publish(Event(1, 10));
  for (auto& c : clients) EXPECT_TRUE(c->ReadUntil("event: start"));
  clients.back()->Close();
  clients.pop_back();
  ASSERT_TRUE(WaitFor([&] {
    hub_->Publish(Event(2, 10));
    return hub_->client_count() == 63;
  }));
  RawClient again(port());
  EXPECT_TRUE(again.ReadUntil("subscribed to cam"));
  EXPECT_TRUE(WaitFor([&] { return hub_->client_count() == 64; }));
}

}  // namespace
}  // namespace accel
