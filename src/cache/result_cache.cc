#include "cache/result_cache.h"

#include "core/logging.h"

namespace accel {
namespace {

double SecondsSince(SteadyTime start) { return MillisBetween(start, Clock::Real()->Now()) / 1000.0; }

}  // namespace

std::string_view CacheSourceName(CacheSource source) {
  switch (source) {
    case CacheSource::kMemory:
      return "memory";
    case CacheSource::kRedis:
      return "redis";
    case CacheSource::kInFlight:
      return "inflight";
  }
  return "unknown";
}

FlightTicket::~FlightTicket() {
  if (!done_) cache_->Finish(key_, nullptr, false);
}

void FlightTicket::Complete(std::shared_ptr<const CachedResult> value) {
  if (done_) return;
  done_ = true;
  cache_->Finish(key_, std::move(value), true);
}

ResultCache::ResultCache(Options options)
    : options_(std::move(options)),
      memory_(MemoryCache::Options{.max_bytes = options_.memory_bytes,
                                   .ttl = std::chrono::seconds(std::max(0, options_.ttl_s))}) {
  if (options_.redis_url.empty()) return;
  auto url = ParseRedisUrl(options_.redis_url);
  if (!url.ok()) {
    redis_config_error_ = url.status().message();
    ACCEL_LOG(kError, "cache") << redis_config_error_ << "; the cache runs in memory only";
    return;
  }
  RedisCache::Options redis;
  redis.url = *url;
  redis.lookup_timeout = options_.redis_lookup_timeout;
  redis.ttl_s = options_.ttl_s;
  redis.breaker = options_.breaker;
  redis.on_error = options_.observer.on_error;
  redis_ = std::make_unique<RedisCache>(std::move(redis));
}

ResultCache::~ResultCache() = default;

void ResultCache::Stop() {
  if (redis_) redis_->Stop();
}

void ResultCache::StoreInMemory(const CacheKey& key, std::shared_ptr<const CachedResult> value) {
  const size_t evicted = memory_.Put(key, std::move(value));
  const CacheObserver& o = options_.observer;
  if (evicted && o.on_evictions) o.on_evictions(evicted);
  if (o.on_memory_usage) {
    const MemoryCache::Stats s = memory_.stats();
    o.on_memory_usage(s.bytes, s.entries);
  }
}

void ResultCache::Lookup(const CacheKey& key, LookupDone done) {
  const CacheObserver& o = options_.observer;
  const SteadyTime started = Clock::Real()->Now();
  std::shared_ptr<const CachedResult> value = memory_.Get(key);
  if (o.on_level_latency) o.on_level_latency("memory", SecondsSince(started));
  if (value) {
    CountOutcome("memory");
    return done(CacheLookup{std::move(value), CacheSource::kMemory, nullptr});
  }
  {
    std::lock_guard lock(flights_mu_);
    if (auto it = flights_.find(key); it != flights_.end()) {
      it->second.waiters.push_back(std::move(done));
      return;
    }
    flights_.emplace(key, Flight{});
  }
  auto ticket = std::shared_ptr<FlightTicket>(new FlightTicket(this, key));
  if (!redis_) {
    CountOutcome("miss");
    return done(CacheLookup{nullptr, CacheSource::kMemory, std::move(ticket)});
  }
  const SteadyTime asked = Clock::Real()->Now();
  redis_->Lookup(key, [this, key, asked, ticket = std::move(ticket),
                       done = std::move(done)](std::optional<std::string> bytes) mutable {
    const CacheObserver& o = options_.observer;
    if (o.on_level_latency) o.on_level_latency("redis", SecondsSince(asked));
    if (bytes) {
      auto parsed = ParseCachedResult(*bytes);
      if (parsed.ok()) {
        auto value = std::make_shared<const CachedResult>(std::move(parsed).value());
        CountOutcome("redis");
        ticket->done_ = true;  // the value is already in Redis: keep it in memory, hand it to the waiters
        Finish(key, value, false);
        return done(CacheLookup{std::move(value), CacheSource::kRedis, nullptr});
      }
      if (o.on_error) o.on_error("decode");  // another format version, or not ours: computed and replaced
    }
    CountOutcome("miss");
    done(CacheLookup{nullptr, CacheSource::kMemory, std::move(ticket)});
  });
}

void ResultCache::RecordBypass() { CountOutcome("bypass"); }

void ResultCache::CountOutcome(std::string_view outcome) {
  std::atomic<uint64_t>& counter = outcome == "memory"     ? hits_memory_
                                   : outcome == "redis"    ? hits_redis_
                                   : outcome == "inflight" ? hits_inflight_
                                   : outcome == "bypass"   ? bypass_
                                                           : misses_;
  counter.fetch_add(1, std::memory_order_relaxed);
  if (options_.observer.on_lookup) options_.observer.on_lookup(outcome);
}

void ResultCache::Finish(const CacheKey& key, std::shared_ptr<const CachedResult> value, bool store_remote) {
  if (value) {
    StoreInMemory(key, value);
    if (store_remote && redis_) redis_->Store(key, SerializeCachedResult(*value));
  }
  std::vector<LookupDone> waiters;
  {
    std::lock_guard lock(flights_mu_);
    auto it = flights_.find(key);
    if (it == flights_.end()) return;
    waiters = std::move(it->second.waiters);
    flights_.erase(it);
  }
  for (auto& waiter : waiters) {
    CountOutcome(value ? "inflight" : "miss");
    waiter(CacheLookup{value, CacheSource::kInFlight, nullptr});
  }
}

ResultCache::Health ResultCache::health() const {
  Health h;
  h.status = "ok";
  h.memory = memory_.stats();
  h.memory_limit = options_.memory_bytes;
  h.ttl_s = options_.ttl_s;
  h.redis_configured = !options_.redis_url.empty();
  h.hits_memory = hits_memory_.load(std::memory_order_relaxed);
  h.hits_redis = hits_redis_.load(std::memory_order_relaxed);
  h.hits_inflight = hits_inflight_.load(std::memory_order_relaxed);
  h.misses = misses_.load(std::memory_order_relaxed);
  h.bypass = bypass_.load(std::memory_order_relaxed);
  if (!redis_config_error_.empty()) {
    h.status = "degraded";
    h.reason = redis_config_error_;
  } else if (redis_) {
    h.redis = redis_->health();
    if (!h.redis.usable) {
      h.status = "degraded";
      h.reason = "Redis at " + h.redis.address + " is not usable: " + h.redis.reason;
    }
  }
  return h;
}

}  // namespace accel
