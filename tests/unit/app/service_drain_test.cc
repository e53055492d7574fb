// Service::Drain, the graceful half of `accel serve`'s stop: readiness false at once, requests in flight
// answered (with Connection: close), then Stop. On a SIMULATED device with a known latency.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <iterator>
#include <thread>
#include <vector>

#include "app/service.h"
#include "sim_service.h"
#include "test_client.h"

namespace accel {
namespace {

using testing::TestClient;
using Clock = std::chrono::steady_clock;

std::string ReadImage() {
  std::ifstream in(std::string(ACCEL_SHARED_DIR) + "/testdata/images/000000000139.jpg", std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Waits until the scheduler holds `n` requests (queued or on the device).
bool WaitForRequestsInScheduler(Service& service, int n) {
  const auto deadline = Clock::now() + std::chrono::seconds(20);
  while (Clock::now() < deadline) {
    int held = 0;
    for (const auto& d : service.scheduler().Devices()) held += d.queue_depth + d.in_flight;
    if (held >= n) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return false;
}

TEST(ServiceDrainTest, NotReadyAtOnceAndRequestsInFlightAreAnswered) {
  const std::string image = ReadImage();
  ASSERT_FALSE(image.empty());
  // One batch at a time of 300 ms: the third request finishes about 0.9 s after the first started.
  auto service = StartSimService("drain", 300);
  ASSERT_TRUE(service);
  ASSERT_TRUE(service->kserve().Ready());
  const int port = service->http_port();

  constexpr int kClients = 3;
  std::atomic<int> ok{0};
  std::atomic<int> closed_after{0};
  std::vector<std::thread> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.emplace_back([&] {
      try {
        TestClient client(port);
        auto response = client.Post("/ai/infer", image, "image/jpeg");
        if (response.result_int() == 200) ++ok;
        if (!response.keep_alive()) ++closed_after;
      } catch (const std::exception& e) {
        ADD_FAILURE() << "request in flight failed: " << e.what();
      }
    });
  }
  ASSERT_TRUE(WaitForRequestsInScheduler(*service, kClients));

  std::atomic<bool> drained{false};
  const auto start = Clock::now();
  std::thread drainer([&] { drained = service->Drain(std::chrono::seconds(20)); });
  const auto not_ready_by = Clock::now() + std::chrono::seconds(5);
  while (service->kserve().Ready() && Clock::now() < not_ready_by)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  EXPECT_FALSE(service->kserve().Ready());
  EXPECT_TRUE(service->context().Draining());
  for (auto& c : clients) c.join();
  drainer.join();
  EXPECT_TRUE(drained.load());
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(15));
  EXPECT_EQ(ok.load(), kClients);
  EXPECT_EQ(closed_after.load(), kClients);  // every answer during the drain carries Connection: close
  EXPECT_THROW(TestClient late(port), boost::system::system_error);
  service->Stop();
}

TEST(ServiceDrainTest, DrainIsBoundedByItsTimeout) {
  const std::string image = ReadImage();
  auto service = StartSimService("drain", 2000);
  ASSERT_TRUE(service);
  const int port = service->http_port();
  std::thread client([&] {
    try {
      TestClient c(port);
      c.Post("/ai/infer", image, "image/jpeg");
    } catch (const std::exception&) {
      // Either answered or cut off by Stop; what matters here is the time the drain takes.
    }
  });
  ASSERT_TRUE(WaitForRequestsInScheduler(*service, 1));
  const auto start = Clock::now();
  EXPECT_FALSE(service->Drain(std::chrono::milliseconds(200)));
  EXPECT_LT(Clock::now() - start, std::chrono::milliseconds(1500));
  service->Stop();
  client.join();
}

}  // namespace
}  // namespace accel
