// ResultCache: the result cache the detection pipeline consults (docs/cache.md). Two levels, one key
// (cache_key.h), one value (cached_result.h):
//   1. MemoryCache, in this process, LRU bounded in bytes;
//   2. RedisCache, shared by every instance, when a Redis URL is configured.
// plus single flight: while one request for a key is being computed (or looked up in Redis), identical
// requests wait for its result instead of running the same inference again.
//
// Protocol, per request: Lookup(key, done). `done` receives either a value (a hit: memory, Redis, or another
// request's fresh result) or a miss. A miss with a FlightTicket makes the caller the one computing this key:
// it must compute and Complete the ticket with the value, or drop the ticket on failure (the waiters are
// then told "miss, no ticket" and compute for themselves: one request's failure, e.g. its short deadline, is
// not handed to others). A miss without a ticket: compute, store nothing.
//
// Threads: every method may be called from any thread. `done` runs inline (memory hit, a Redis level that is
// not usable), on RedisCache's threads (Redis answer or timeout), or on the thread that completes the
// flight; it must not block.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "cache/cache_key.h"
#include "cache/cached_result.h"
#include "cache/memory_cache.h"
#include "cache/redis_cache.h"
#include "core/clock.h"

namespace accel {

// Where a hit came from ("memory", "redis", "inflight": a concurrent identical request's result).
enum class CacheSource { kMemory, kRedis, kInFlight };
std::string_view CacheSourceName(CacheSource source);

// What the cache reports to its owner (the service feeds metrics from it). Each member may be empty; each is
// called on whatever thread the event happens and must be quick.
struct CacheObserver {
  // Once per request, with its outcome: "memory", "redis" or "inflight" for a hit, "miss" for a miss,
  // "bypass" for a request that opted out (RecordBypass).
  std::function<void(std::string_view outcome)> on_lookup;
  // How long one level took to answer ("memory", "redis"; a Redis timeout counts its full wait).
  std::function<void(std::string_view level, double seconds)> on_level_latency;
  std::function<void(std::string_view kind)> on_error;  // RedisCache::Options::on_error kinds, and "decode"
  std::function<void(size_t evicted)> on_evictions;
  std::function<void(size_t bytes, size_t entries)> on_memory_usage;
};

class ResultCache;

// The duty to compute one key; see the protocol above. Dropping it without Complete releases the waiters.
class FlightTicket {
 public:
  ~FlightTicket();
  FlightTicket(const FlightTicket&) = delete;
  FlightTicket& operator=(const FlightTicket&) = delete;
  // Stores the value in every level and hands it to the waiters. Call at most once.
  void Complete(std::shared_ptr<const CachedResult> value);

 private:
  friend class ResultCache;
  FlightTicket(ResultCache* cache, CacheKey key) : cache_(cache), key_(key) {}
  ResultCache* cache_;
  CacheKey key_;
  bool done_ = false;
};

struct CacheLookup {
  std::shared_ptr<const CachedResult> value;  // null: a miss
  CacheSource source = CacheSource::kMemory;  // for a hit
  std::shared_ptr<FlightTicket> ticket;       // for a miss: set when this caller computes the key
};

class ResultCache {
 public:
  struct Options {
    size_t memory_bytes = 64u << 20;
    int ttl_s = 3600;  // both levels; <= 0: no expiry
    // Empty: memory only. Otherwise a redis:// URL; a bad one is logged and the cache runs memory only.
    std::string redis_url;
    Micros redis_lookup_timeout = std::chrono::milliseconds(5);
    CircuitBreaker::Options breaker;
    CacheObserver observer;
  };
  explicit ResultCache(Options options);
  ~ResultCache();
  ResultCache(const ResultCache&) = delete;
  ResultCache& operator=(const ResultCache&) = delete;

  using LookupDone = std::function<void(CacheLookup)>;
  void Lookup(const CacheKey& key, LookupDone done);
  // A request that did not consult the cache (it opted out): counted as outcome "bypass".
  void RecordBypass();

  // Stops the Redis level: pending lookups are answered as misses now (their `done` runs on this thread),
  // later ones at once. The memory level keeps working. For the owner's shutdown, before the threads that
  // `done` hands work to go away. Idempotent.
  void Stop();

  // The model part of keys (ModelFingerprints).
  CacheKey ModelKey(const std::shared_ptr<const ModelConfig>& model) { return fingerprints_.Get(model); }

  struct Health {
    std::string status;  // "ok", or "degraded" while a configured Redis is not usable
    std::string reason;
    bool redis_configured = false;
    RedisCache::Health redis;
    MemoryCache::Stats memory;
    size_t memory_limit = 0;
    int ttl_s = 0;
    // Requests since start by outcome (the same counts as the accel_cache_* counters).
    uint64_t hits_memory = 0, hits_redis = 0, hits_inflight = 0, misses = 0, bypass = 0;
  };
  Health health() const;

 private:
  friend class FlightTicket;
  struct Flight {
    std::vector<LookupDone> waiters;
  };
  // Ends the flight of `key`: stores `value` (if any) and answers the waiters.
  void Finish(const CacheKey& key, std::shared_ptr<const CachedResult> value, bool store_remote);
  void StoreInMemory(const CacheKey& key, std::shared_ptr<const CachedResult> value);
  // Counts one request's outcome and tells the observer.
  void CountOutcome(std::string_view outcome);

  const Options options_;
  ModelFingerprints fingerprints_;
  MemoryCache memory_;
  std::string redis_config_error_;     // a REDIS_URL that could not be used
  std::unique_ptr<RedisCache> redis_;  // null: memory only
  std::atomic<uint64_t> hits_memory_{0}, hits_redis_{0}, hits_inflight_{0}, misses_{0}, bypass_{0};
  std::mutex flights_mu_;
  std::unordered_map<CacheKey, Flight, CacheKeyHash> flights_;
};

}  // namespace accel
