// The watched-streams API of a whole Service: changes (POST/PUT/DELETE /ai/streams) run on threads the
// stream manager owns, so a service stopped and destroyed while changes are still running waits for them
// instead of leaving them to touch a destroyed manager (AddressSanitizer reports that use after free in
// scripts/sanitize-test address). On a SIMULATED device; the streams' sources are RTSP URLs of a socket
// that accepts connections and never answers, so that every source stays in its (interruptible) open and
// replacing or removing a stream takes a while.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "app/service.h"
#include "sim_service.h"
#include "streams/stream_manager.h"
#include "test_client.h"

namespace accel {
namespace {

namespace http = boost::beast::http;
using testing::TestClient;
using Clock = std::chrono::steady_clock;

// A TCP port that completes handshakes (the kernel's backlog) and never sends a byte.
class SilentPort {
 public:
  SilentPort() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&address), length) != 0 ||
        ::listen(fd_, 256) != 0 || ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
      ADD_FAILURE() << "cannot listen on 127.0.0.1";
      return;
    }
    port_ = ntohs(address.sin_port);
  }
  ~SilentPort() {
    if (fd_ >= 0) ::close(fd_);
  }
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

http::request<http::string_body> JsonRequest(http::verb verb, const std::string& target, std::string body) {
  http::request<http::string_body> request(verb, target, 11);
  request.set(http::field::content_type, "application/json");
  request.body() = std::move(body);
  return request;
}

TEST(ServiceStreamsTest, StopWhileChangesAreInFlight) {
  SilentPort silent;
  ASSERT_GT(silent.port(), 0);
  const auto dir =
      std::filesystem::temp_directory_path() / ("accel-service-streams-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto service = StartSimService("streams", 5,
                                 [&](ServeConfig& c) { c.streams_file = (dir / "streams.yaml").string(); });
  ASSERT_TRUE(service);
  const int port = service->http_port();
  const std::string url = "rtsp://127.0.0.1:" + std::to_string(silent.port()) + "/camera";

  // Each client adds its stream, replaces it and removes it, as fast as answers come.
  constexpr int kClients = 12;
  std::atomic<int> answered{0};
  std::atomic<int> cut_off{0};
  std::mutex statuses_mu;
  std::set<int> statuses;
  std::vector<std::thread> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.emplace_back([&, i] {
      const std::string name = "cam" + std::to_string(i);
      const std::string body = R"({"name":")" + name + R"(","url":")" + url + R"(","fps":1})";
      try {
        TestClient client(port);
        for (auto [verb, target] : {std::pair{http::verb::post, std::string("/ai/streams")},
                                    std::pair{http::verb::put, "/ai/streams/" + name},
                                    std::pair{http::verb::delete_, "/ai/streams/" + name}}) {
          auto response = client.Send(JsonRequest(verb, target, verb == http::verb::delete_ ? "" : body));
          ++answered;
          std::lock_guard<std::mutex> lock(statuses_mu);
          statuses.insert(response.result_int());
        }
      } catch (const std::exception&) {
        ++cut_off;  // the service stopped before answering (the connection closed)
      }
    });
  }
  // Stop while changes are running on the manager's threads.
  const auto deadline = Clock::now() + std::chrono::seconds(20);
  while (service->streams().changes_running() < 2 && Clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  ASSERT_GE(service->streams().changes_running(), 2u);
  const auto stop_started = Clock::now();
  service.reset();
  const double stop_s = std::chrono::duration<double>(Clock::now() - stop_started).count();
  for (auto& c : clients) c.join();

  // Every change still running was waited for (and answered, or its connection closed with the service);
  // none ran on after the manager was gone. Each runner stops within ~1 s, in parallel or one change at a
  // time: the stop stays bounded.
  EXPECT_LT(stop_s, 30.0);
  for (int status : statuses) {
    EXPECT_TRUE(status == 200 || status == 201 || status == 404 || status == 409 || status == 503)
        << "unexpected HTTP status " << status;
  }
  std::filesystem::remove_all(dir);
}

TEST(ServiceStreamsTest, ChangesAfterStopAreRefused) {
  auto service = StartSimService("streams", 5);
  ASSERT_TRUE(service);
  service->streams().StopAll();  // as Drain and Stop do first
  TestClient client(service->http_port());
  auto response = client.Send(
      JsonRequest(http::verb::post, "/ai/streams", R"({"name":"late","url":"rtsp://127.0.0.1:9/x"})"));
  EXPECT_EQ(response.result_int(), 503);
  EXPECT_NE(response.body().find("stopping"), std::string::npos) << response.body();
  service->Stop();
}

}  // namespace
}  // namespace accel
