#include "cache/memory_cache.h"

#include <gtest/gtest.h>

namespace accel {
namespace {

std::shared_ptr<const CachedResult> Value(int detections) {
  auto r = std::make_shared<CachedResult>();
  r->detections.resize(detections);
  return r;
}

CacheKey Key(uint64_t n) { return {n, n * 31}; }

TEST(MemoryCache, StaysWithinItsBytesAndEvictsTheLeastRecentlyUsed) {
  const size_t entry = Value(10)->ByteSize() + MemoryCache::kEntryOverhead;
  FakeClock clock;
  MemoryCache cache({.max_bytes = entry * 3, .ttl = Micros(0), .clock = &clock});
  EXPECT_EQ(cache.Put(Key(1), Value(10)), 0u);
  EXPECT_EQ(cache.Put(Key(2), Value(10)), 0u);
  EXPECT_EQ(cache.Put(Key(3), Value(10)), 0u);
  ASSERT_NE(cache.Get(Key(1)), nullptr);  // 1 is now the most recently used; 2 the least
  EXPECT_EQ(cache.Put(Key(4), Value(10)), 1u);
  EXPECT_EQ(cache.Get(Key(2)), nullptr);
  EXPECT_NE(cache.Get(Key(1)), nullptr);
  EXPECT_NE(cache.Get(Key(3)), nullptr);
  EXPECT_NE(cache.Get(Key(4)), nullptr);
  MemoryCache::Stats s = cache.stats();
  EXPECT_EQ(s.entries, 3u);
  EXPECT_EQ(s.bytes, entry * 3);
  EXPECT_EQ(s.evictions, 1u);
  // A big value pushes out as many as it needs; one bigger than the whole bound is not kept at all.
  const size_t big = Value(25)->ByteSize() + MemoryCache::kEntryOverhead;
  ASSERT_LE(big, entry * 3);
  ASSERT_GT(big, entry * 2);
  EXPECT_EQ(cache.Put(Key(5), Value(25)), 3u);
  EXPECT_EQ(cache.stats().entries, 1u);
  EXPECT_EQ(cache.Put(Key(6), Value(1000)), 0u);
  EXPECT_EQ(cache.Get(Key(6)), nullptr);
  EXPECT_LE(cache.stats().bytes, entry * 3);
}

TEST(MemoryCache, ReplacingAKeyDoesNotCountItTwice) {
  FakeClock clock;
  MemoryCache cache({.max_bytes = 1 << 20, .ttl = Micros(0), .clock = &clock});
  cache.Put(Key(1), Value(3));
  const size_t bytes = cache.stats().bytes;
  cache.Put(Key(1), Value(3));
  EXPECT_EQ(cache.stats().bytes, bytes);
  EXPECT_EQ(cache.stats().entries, 1u);
}

TEST(MemoryCache, EntriesExpireAfterTheTtl) {
  FakeClock clock;
  MemoryCache cache({.max_bytes = 1 << 20, .ttl = std::chrono::seconds(10), .clock = &clock});
  cache.Put(Key(1), Value(1));
  clock.Advance(std::chrono::seconds(9));
  EXPECT_NE(cache.Get(Key(1)), nullptr);
  clock.Advance(std::chrono::seconds(1));
  EXPECT_EQ(cache.Get(Key(1)), nullptr);
  EXPECT_EQ(cache.stats().entries, 0u);
  EXPECT_EQ(cache.stats().bytes, 0u);
}

}  // namespace
}  // namespace accel
