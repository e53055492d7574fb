// MemoryCache: the in-process level of the result cache. Least-recently-used, bounded by the bytes its
// values hold (CachedResult::ByteSize plus a fixed per-entry overhead), entries older than the TTL count as
// absent. Thread-safe: one mutex, held for a hash lookup and a list splice; values are shared, immutable,
// and outlive their eviction for as long as a reader holds them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "cache/cache_key.h"
#include "cache/cached_result.h"
#include "core/clock.h"

namespace accel {

class MemoryCache {
 public:
  struct Options {
    size_t max_bytes = 64u << 20;
    Micros ttl = std::chrono::seconds(60);  // <= 0: entries never expire
    const Clock* clock = Clock::Real();     // not owned
  };
  // Bookkeeping that every entry costs besides its value (list and map nodes, the key).
  static constexpr size_t kEntryOverhead = 128;

  explicit MemoryCache(Options options);
  MemoryCache(const MemoryCache&) = delete;
  MemoryCache& operator=(const MemoryCache&) = delete;

  // The value, made most recently used; nullptr when absent or expired (an expired entry is dropped).
  std::shared_ptr<const CachedResult> Get(const CacheKey& key);
  // Inserts or replaces, then evicts least recently used entries until the total fits. A value larger than
  // the whole bound is not kept. Returns how many entries were evicted to make room.
  size_t Put(const CacheKey& key, std::shared_ptr<const CachedResult> value);

  struct Stats {
    size_t bytes = 0;
    size_t entries = 0;
    uint64_t evictions = 0;  // entries dropped to make room (not expiries, not replacements)
  };
  Stats stats() const;

 private:
  struct Entry {
    CacheKey key;
    std::shared_ptr<const CachedResult> value;
    size_t bytes;
    SteadyTime stored;
  };
  void EraseLocked(std::list<Entry>::iterator it);

  const Options options_;
  mutable std::mutex mu_;
  std::list<Entry> order_;  // most recently used first
  std::unordered_map<CacheKey, std::list<Entry>::iterator, CacheKeyHash> index_;
  size_t bytes_ = 0;
  uint64_t evictions_ = 0;
};

}  // namespace accel
