// ChangeWorkers: the stream manager's change threads are bounded, waited for, and refused after closing.
#include "streams/change_workers.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace accel {
namespace {

// A gate the workers wait at until the test opens it.
struct Gate {
  std::mutex mu;
  std::condition_variable cv;
  bool open = false;
  void Wait() {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return open; });
  }
  void Open() {
    {
      std::lock_guard<std::mutex> lock(mu);
      open = true;
    }
    cv.notify_all();
  }
};

TEST(ChangeWorkersTest, BoundedWhileRunningAndWaitedForOnClose) {
  ChangeWorkers workers(2);
  Gate gate;
  std::atomic<int> finished{0};
  auto work = [&] {
    gate.Wait();
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    ++finished;
  };
  ASSERT_TRUE(workers.Run(work).ok());
  ASSERT_TRUE(workers.Run(work).ok());
  EXPECT_EQ(workers.running(), 2u);
  bool ran = false;
  Status third = workers.Run([&] { ran = true; });
  EXPECT_EQ(third.code(), StatusCode::kResourceExhausted) << third.ToString();

  std::thread opener([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    gate.Open();
  });
  workers.CloseAndJoin();  // returns only after both have finished
  EXPECT_EQ(finished.load(), 2);
  EXPECT_EQ(workers.running(), 0u);
  opener.join();

  Status late = workers.Run([&] { ran = true; });
  EXPECT_EQ(late.code(), StatusCode::kUnavailable) << late.ToString();
  workers.CloseAndJoin();  // idempotent
  EXPECT_FALSE(ran);
}

TEST(ChangeWorkersTest, FinishedWorkersFreeTheirPlace) {
  ChangeWorkers workers(1);
  for (int i = 0; i < 20; ++i) {
    std::atomic<bool> done{false};
    ASSERT_TRUE(workers.Run([&] { done = true; }).ok()) << i;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (workers.running() > 0 && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    ASSERT_TRUE(done.load());
  }
}

}  // namespace
}  // namespace accel
