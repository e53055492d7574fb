// RedisCache: the shared level of the result cache, one Redis server for every Accel instance (REDIS_URL).
//
// No request thread ever waits on Redis: Lookup and Store only queue work. One thread of its own owns the
// connection (hiredis, blocking, with timeouts) and sends what is queued as one pipelined batch; a second
// thread answers every lookup still unanswered at its deadline (lookup_timeout) as a miss, so a slow or hung
// Redis costs a request at most lookup_timeout, whatever the connection is doing. Stores are fire and forget
// (SET with EX ttl); when the queue is full they are dropped.
//
// Failures go through a CircuitBreaker: a broken connection is re-opened at once, but after
// `failures_to_open` consecutive failures (connect, AUTH, I/O, timeout) the breaker opens, lookups answer
// "miss" without queueing, and the connection thread retries after an exponential back-off (capped). A
// configuration problem (wrong host, a password needed or refused) is logged once with what to change, and
// again only when the reason changes; a recovery is logged too. health() says "degraded" while Redis is not
// usable.
//
// Threads: every public method may be called from any thread. `done` of a lookup is called exactly once,
// from the connection thread, the deadline thread, or inline in Lookup (no connection, queue full,
// shutting down); it must be quick and must not call back into this object.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "cache/cache_key.h"
#include "cache/circuit_breaker.h"
#include "cache/redis_url.h"
#include "core/clock.h"

namespace accel {

class RedisCache {
 public:
  struct Options {
    RedisUrl url;
    Micros lookup_timeout = std::chrono::milliseconds(5);
    int ttl_s = 3600;  // SET ... EX ttl_s; <= 0: keys do not expire
    // Bounds on the connection thread itself (connect, AUTH, one pipelined batch): it must notice a hung
    // Redis, but lookups never wait for these (the deadline thread answers them).
    Micros connect_timeout = std::chrono::milliseconds(500);
    Micros io_timeout = std::chrono::milliseconds(250);
    CircuitBreaker::Options breaker;
    size_t max_queued = 4096;  // lookups and stores waiting at most (each); beyond: miss / dropped
    std::string key_prefix = "accel:result:v1:";
    // Called on the connection or deadline thread for every failure: "connect", "auth", "io", "command",
    // "timeout" (a lookup answered as a miss at its deadline), "dropped" (a store the full queue refused).
    std::function<void(std::string_view kind)> on_error;
  };
  // nullopt: a miss (absent, timed out, Redis not usable); otherwise the stored bytes.
  using LookupDone = std::function<void(std::optional<std::string>)>;

  // Starts the threads; the first connection attempt happens on the connection thread, not here.
  explicit RedisCache(Options options);
  // Stop()s.
  ~RedisCache();
  // Answers every pending lookup as a miss and stops the threads; afterwards lookups are misses at once and
  // stores are dropped. Idempotent; not from a lookup's `done`.
  void Stop();
  RedisCache(const RedisCache&) = delete;
  RedisCache& operator=(const RedisCache&) = delete;

  void Lookup(const CacheKey& key, LookupDone done);
  void Store(const CacheKey& key, std::string value);

  struct Health {
    bool usable = false;  // connected and the breaker closed
    std::string breaker;  // "closed", "open", "half-open"
    std::string reason;   // the last failure, "" when usable
    std::string address;  // host:port/db, never the password
  };
  Health health() const;

 private:
  struct PendingLookup;
  struct PendingStore {
    std::string key;
    std::string value;
  };
  struct Connection;

  void RunConnection();
  void RunDeadlines();
  // Connection thread only.
  bool Connect();
  void SendBatch(std::vector<std::shared_ptr<PendingLookup>>& lookups, std::vector<PendingStore>& stores);
  void Fail(std::string_view kind, const std::string& reason);
  void Error(std::string_view kind) const;

  const Options options_;
  CircuitBreaker breaker_;
  std::unique_ptr<Connection> connection_;  // connection thread only

  mutable std::mutex mu_;
  std::condition_variable wake_connection_;
  std::condition_variable wake_deadlines_;
  bool stopping_ = false;
  bool connected_ = false;
  std::string last_failure_ = "not connected yet";
  std::string logged_failure_;  // the failure last written to the log ("" after a recovery)
  std::deque<std::shared_ptr<PendingLookup>> lookups_;    // for the connection thread
  std::deque<std::shared_ptr<PendingLookup>> deadlines_;  // for the deadline thread, in deadline order
  std::deque<PendingStore> stores_;

  std::thread connection_thread_;
  std::thread deadline_thread_;
};

}  // namespace accel
