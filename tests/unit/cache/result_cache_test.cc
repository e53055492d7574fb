// ResultCache without Redis: memory hits, single flight (one computation for identical requests in flight,
// the waiters released when it fails), the observer; and a Redis level that cannot be reached: lookups stay
// misses within their timeout, nothing blocks, the health says degraded.
#include "cache/result_cache.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <future>
#include <map>
#include <mutex>

namespace accel {
namespace {

CacheKey Key(uint64_t n) { return {n, ~n}; }

std::shared_ptr<const CachedResult> Value(const std::string& device) {
  auto r = std::make_shared<CachedResult>();
  r->device_id = device;
  r->detections = {{0, "person", 0.9f, {1, 2, 3, 4}}};
  return r;
}

ResultCache::Options WithObserver(CacheObserver observer) {
  ResultCache::Options options;
  options.observer = std::move(observer);
  return options;
}

struct Outcomes {
  std::mutex mu;
  std::map<std::string, int> counts;
  CacheObserver Observer() {
    CacheObserver o;
    o.on_lookup = [this](std::string_view outcome) {
      std::lock_guard lock(mu);
      ++counts[std::string(outcome)];
    };
    return o;
  }
  int operator[](const std::string& k) {
    std::lock_guard lock(mu);
    return counts[k];
  }
};

TEST(ResultCache, AStoredValueIsAMemoryHit) {
  Outcomes outcomes;
  ResultCache cache(WithObserver(outcomes.Observer()));
  CacheLookup first;
  cache.Lookup(Key(1), [&](CacheLookup l) { first = std::move(l); });
  ASSERT_EQ(first.value, nullptr);
  ASSERT_NE(first.ticket, nullptr) << "the first request computes";
  first.ticket->Complete(Value("cpu:0"));
  CacheLookup second;
  cache.Lookup(Key(1), [&](CacheLookup l) { second = std::move(l); });
  ASSERT_NE(second.value, nullptr);
  EXPECT_EQ(second.source, CacheSource::kMemory);
  EXPECT_EQ(second.value->device_id, "cpu:0");
  EXPECT_EQ(second.ticket, nullptr);
  EXPECT_EQ(outcomes["miss"], 1);
  EXPECT_EQ(outcomes["memory"], 1);
  EXPECT_EQ(cache.health().status, "ok");
  EXPECT_EQ(cache.health().memory.entries, 1u);
}

TEST(ResultCache, IdenticalRequestsInFlightComputeOnce) {
  Outcomes outcomes;
  ResultCache cache(WithObserver(outcomes.Observer()));
  std::shared_ptr<FlightTicket> ticket;
  cache.Lookup(Key(2), [&](CacheLookup l) { ticket = std::move(l.ticket); });
  ASSERT_NE(ticket, nullptr);
  std::vector<CacheLookup> waiters;
  for (int i = 0; i < 3; ++i) cache.Lookup(Key(2), [&](CacheLookup l) { waiters.push_back(std::move(l)); });
  EXPECT_TRUE(waiters.empty()) << "they wait for the one computing";
  // Another key is not held up.
  bool other = false;
  cache.Lookup(Key(3), [&](CacheLookup l) { other = l.ticket != nullptr; });
  EXPECT_TRUE(other);

  ticket->Complete(Value("sim:a"));
  ASSERT_EQ(waiters.size(), 3u);
  for (const auto& w : waiters) {
    ASSERT_NE(w.value, nullptr);
    EXPECT_EQ(w.source, CacheSource::kInFlight);
    EXPECT_EQ(w.value->device_id, "sim:a");
  }
  EXPECT_EQ(outcomes["inflight"], 3);
}

TEST(ResultCache, AFailedComputationReleasesTheWaitersToComputeThemselves) {
  ResultCache cache(ResultCache::Options{});
  std::shared_ptr<FlightTicket> ticket;
  cache.Lookup(Key(4), [&](CacheLookup l) { ticket = std::move(l.ticket); });
  std::vector<CacheLookup> waiters;
  for (int i = 0; i < 2; ++i) cache.Lookup(Key(4), [&](CacheLookup l) { waiters.push_back(std::move(l)); });
  ticket.reset();  // dropped without a value: the computation failed
  ASSERT_EQ(waiters.size(), 2u);
  for (const auto& w : waiters) {
    EXPECT_EQ(w.value, nullptr);
    EXPECT_EQ(w.ticket, nullptr) << "a released waiter computes without storing";
  }
  // The flight is over: the next request computes (and may store) again.
  CacheLookup next;
  cache.Lookup(Key(4), [&](CacheLookup l) { next = std::move(l); });
  EXPECT_NE(next.ticket, nullptr);
}

// A TCP port on this machine where nothing listens (bound, never listened on, then closed).
int ClosedPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

TEST(ResultCache, AnUnreachableRedisLeavesTheMemoryLevelWorkingAndSaysDegraded) {
  ResultCache::Options options;
  options.redis_url = "redis://127.0.0.1:" + std::to_string(ClosedPort());
  options.redis_lookup_timeout = std::chrono::milliseconds(5);
  ResultCache cache(std::move(options));
  // Every lookup is answered (a miss) and quickly, whatever the connection thread is doing.
  for (uint64_t i = 0; i < 20; ++i) {
    std::promise<CacheLookup> answered;
    auto future = answered.get_future();
    const auto start = std::chrono::steady_clock::now();
    cache.Lookup(Key(100 + i), [&](CacheLookup l) { answered.set_value(std::move(l)); });
    ASSERT_EQ(future.wait_for(std::chrono::seconds(2)), std::future_status::ready);
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1));
    CacheLookup l = future.get();
    EXPECT_EQ(l.value, nullptr);
    ASSERT_NE(l.ticket, nullptr);
    if (i == 0) l.ticket->Complete(Value("cpu:0"));  // memory still takes it
  }
  CacheLookup hit;
  cache.Lookup(Key(100), [&](CacheLookup l) { hit = std::move(l); });
  EXPECT_NE(hit.value, nullptr);
  // Degraded from the start (not connected yet), then with the reason of the first failed attempt, which
  // comes within milliseconds (connection refused).
  for (int i = 0; i < 500 && cache.health().reason.find("cannot connect") == std::string::npos; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ResultCache::Health h = cache.health();
  EXPECT_EQ(h.status, "degraded");
  EXPECT_FALSE(h.redis.usable);
  EXPECT_NE(h.reason.find("cannot connect"), std::string::npos) << h.reason;
}

TEST(ResultCache, ABadRedisUrlIsReportedAndTheCacheRunsInMemory) {
  ResultCache::Options options;
  options.redis_url = "http://redis:6379";
  ResultCache cache(std::move(options));
  ResultCache::Health h = cache.health();
  EXPECT_EQ(h.status, "degraded");
  EXPECT_NE(h.reason.find("redis://"), std::string::npos) << h.reason;
  CacheLookup first;
  cache.Lookup(Key(9), [&](CacheLookup l) { first = std::move(l); });
  ASSERT_NE(first.ticket, nullptr);
  first.ticket->Complete(Value("cpu:0"));
  CacheLookup second;
  cache.Lookup(Key(9), [&](CacheLookup l) { second = std::move(l); });
  EXPECT_NE(second.value, nullptr);
}

}  // namespace
}  // namespace accel
