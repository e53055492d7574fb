#include "cache/redis_cache.h"

#include <hiredis/hiredis.h>
#include <sys/time.h>

#include <algorithm>
#include <atomic>
#include <utility>

#include "core/logging.h"

namespace accel {
namespace {

timeval ToTimeval(Micros d) {
  timeval tv;
  tv.tv_sec = static_cast<time_t>(d.count() / 1'000'000);
  tv.tv_usec = static_cast<suseconds_t>(d.count() % 1'000'000);
  return tv;
}

struct ReplyDeleter {
  void operator()(redisReply* r) const {
    if (r) freeReplyObject(r);
  }
};
using Reply = std::unique_ptr<redisReply, ReplyDeleter>;

// At most this many lookups and this many stores go out in one pipelined batch.
constexpr size_t kMaxBatch = 256;

}  // namespace

struct RedisCache::PendingLookup {
  std::string key;
  SteadyTime deadline;
  LookupDone done;
  std::atomic<bool> answered{false};

  // The first answer wins (the connection thread's or the deadline thread's); returns whether it was this.
  bool Answer(std::optional<std::string> value) {
    if (answered.exchange(true)) return false;
    done(std::move(value));
    done = nullptr;
    return true;
  }
};

struct RedisCache::Connection {
  redisContext* context = nullptr;
  ~Connection() { Close(); }
  void Close() {
    if (context) redisFree(context);
    context = nullptr;
  }
  // One command, waiting for its reply; nullptr on an I/O error (the connection is then unusable).
  Reply Command(const std::vector<std::string>& args) {
    std::vector<const char*> argv;
    std::vector<size_t> lengths;
    for (const auto& a : args) {
      argv.push_back(a.data());
      lengths.push_back(a.size());
    }
    return Reply(static_cast<redisReply*>(
        redisCommandArgv(context, static_cast<int>(args.size()), argv.data(), lengths.data())));
  }
  std::string Error() const {
    return context && context->errstr[0] ? std::string(context->errstr) : std::string("connection lost");
  }
};

RedisCache::RedisCache(Options options)
    : options_(std::move(options)), breaker_(options_.breaker), connection_(std::make_unique<Connection>()) {
  connection_thread_ = std::thread([this] { RunConnection(); });
  deadline_thread_ = std::thread([this] { RunDeadlines(); });
}

RedisCache::~RedisCache() { Stop(); }

void RedisCache::Stop() {
  std::deque<std::shared_ptr<PendingLookup>> pending;
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  wake_connection_.notify_all();
  wake_deadlines_.notify_all();
  connection_thread_.join();
  deadline_thread_.join();
  {
    std::lock_guard lock(mu_);
    pending.swap(deadlines_);  // every queued lookup is also here
    lookups_.clear();
    stores_.clear();
  }
  for (auto& l : pending) l->Answer(std::nullopt);
}

void RedisCache::Error(std::string_view kind) const {
  if (options_.on_error) options_.on_error(kind);
}

void RedisCache::Lookup(const CacheKey& key, LookupDone done) {
  auto pending = std::make_shared<PendingLookup>();
  {
    std::lock_guard lock(mu_);
    if (stopping_ || !connected_ || lookups_.size() >= options_.max_queued) {
      // Not queued: answered below, without the lock held.
    } else {
      pending->key = options_.key_prefix + key.Hex();
      pending->deadline = Clock::Real()->Now() + options_.lookup_timeout;
      pending->done = std::move(done);
      lookups_.push_back(pending);
      deadlines_.push_back(pending);
      done = nullptr;
    }
  }
  if (done) return done(std::nullopt);
  wake_connection_.notify_one();
  wake_deadlines_.notify_one();
}

void RedisCache::Store(const CacheKey& key, std::string value) {
  {
    std::lock_guard lock(mu_);
    if (stopping_ || !connected_) return;  // nothing to keep it for; the next miss stores again
    if (stores_.size() >= options_.max_queued) {
      Error("dropped");
      return;
    }
    stores_.push_back({options_.key_prefix + key.Hex(), std::move(value)});
  }
  wake_connection_.notify_one();
}

RedisCache::Health RedisCache::health() const {
  Health h;
  h.address = options_.url.Display();
  h.breaker = std::string(CircuitStateName(breaker_.state()));
  std::lock_guard lock(mu_);
  h.usable = connected_ && breaker_.state() == CircuitBreaker::State::kClosed;
  if (!h.usable) h.reason = last_failure_;
  return h;
}

void RedisCache::RunDeadlines() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    if (deadlines_.empty()) {
      wake_deadlines_.wait(lock);
      continue;
    }
    std::shared_ptr<PendingLookup> first = deadlines_.front();
    if (first->answered.load()) {
      deadlines_.pop_front();
      continue;
    }
    // Every lookup has the same timeout, so deadlines arrive in queue order.
    if (Clock::Real()->Now() < first->deadline) {
      wake_deadlines_.wait_until(lock, first->deadline);
      continue;
    }
    deadlines_.pop_front();
    lock.unlock();
    if (first->Answer(std::nullopt)) Error("timeout");
    lock.lock();
  }
}

void RedisCache::Fail(std::string_view kind, const std::string& reason) {
  connection_->Close();
  breaker_.RecordFailure();
  Error(kind);
  std::deque<std::shared_ptr<PendingLookup>> orphans;
  bool log = false;
  {
    std::lock_guard lock(mu_);
    connected_ = false;
    last_failure_ = reason;
    orphans.swap(lookups_);
    stores_.clear();
    if (logged_failure_ != reason) {
      logged_failure_ = reason;
      log = true;
    }
  }
  for (auto& l : orphans) l->Answer(std::nullopt);
  if (log)
    ACCEL_LOG(kWarn, "cache") << "Redis at " << options_.url.Display() << ": " << reason
                              << "; the cache goes on in memory only and retries Redis by itself";
}

bool RedisCache::Connect() {
  const RedisUrl& url = options_.url;
  connection_->Close();
  connection_->context =
      redisConnectWithTimeout(url.host.c_str(), url.port, ToTimeval(options_.connect_timeout));
  if (!connection_->context || connection_->context->err) {
    Fail("connect", "cannot connect (" + connection_->Error() + ")");
    return false;
  }
  redisSetTimeout(connection_->context, ToTimeval(options_.io_timeout));
  redisEnableKeepAlive(connection_->context);
  auto check = [this](Reply reply, std::string_view what) -> bool {
    if (!reply) {
      Fail("io", std::string(what) + " failed (" + connection_->Error() + ")");
      return false;
    }
    if (reply->type == REDIS_REPLY_ERROR) {
      std::string message(reply->str, reply->len);
      std::string hint;
      if (message.rfind("NOAUTH", 0) == 0)
        hint = ": Redis requires a password; put it in REDIS_URL as redis://:PASSWORD@host:port";
      else if (message.rfind("WRONGPASS", 0) == 0 || message.find("invalid password") != std::string::npos ||
               message.find("without any password") != std::string::npos)
        hint = ": check the password in REDIS_URL";
      Fail("auth", std::string(what) + " refused: " + message + hint);
      return false;
    }
    return true;
  };
  if (!url.password.empty()) {
    std::vector<std::string> auth = {"AUTH"};
    if (!url.username.empty()) auth.push_back(url.username);
    auth.push_back(url.password);
    if (!check(connection_->Command(auth), "AUTH")) return false;
  }
  if (url.db != 0 && !check(connection_->Command({"SELECT", std::to_string(url.db)}), "SELECT")) return false;
  if (!check(connection_->Command({"PING"}), "PING")) return false;
  breaker_.RecordSuccess();
  bool recovered = false;
  {
    std::lock_guard lock(mu_);
    connected_ = true;
    recovered = !logged_failure_.empty();
    logged_failure_.clear();
    last_failure_.clear();
  }
  ACCEL_LOG(kInfo, "cache") << (recovered ? "reconnected to Redis at " : "connected to Redis at ")
                            << url.Display();
  return true;
}

void RedisCache::SendBatch(std::vector<std::shared_ptr<PendingLookup>>& lookups,
                           std::vector<PendingStore>& stores) {
  redisContext* c = connection_->context;
  const std::string ttl = std::to_string(options_.ttl_s);
  for (const auto& l : lookups) {
    const char* argv[] = {"GET", l->key.data()};
    const size_t lengths[] = {3, l->key.size()};
    redisAppendCommandArgv(c, 2, argv, lengths);
  }
  for (const auto& s : stores) {
    if (options_.ttl_s > 0) {
      const char* argv[] = {"SET", s.key.data(), s.value.data(), "EX", ttl.data()};
      const size_t lengths[] = {3, s.key.size(), s.value.size(), 2, ttl.size()};
      redisAppendCommandArgv(c, 5, argv, lengths);
    } else {
      const char* argv[] = {"SET", s.key.data(), s.value.data()};
      const size_t lengths[] = {3, s.key.size(), s.value.size()};
      redisAppendCommandArgv(c, 3, argv, lengths);
    }
  }
  const size_t total = lookups.size() + stores.size();
  for (size_t i = 0; i < total; ++i) {
    void* raw = nullptr;
    if (redisGetReply(c, &raw) != REDIS_OK) {
      for (size_t j = i; j < lookups.size(); ++j) lookups[j]->Answer(std::nullopt);
      const bool timed_out = c->err == REDIS_ERR_IO && (errno == EAGAIN || errno == EWOULDBLOCK);
      Fail(timed_out ? "timeout" : "io",
           timed_out ? "no reply within " + std::to_string(options_.io_timeout.count() / 1000) + " ms"
                     : "connection lost (" + connection_->Error() + ")");
      return;
    }
    Reply reply(static_cast<redisReply*>(raw));
    if (i < lookups.size()) {
      if (reply->type == REDIS_REPLY_STRING) {
        lookups[i]->Answer(std::string(reply->str, reply->len));
      } else {
        if (reply->type == REDIS_REPLY_ERROR) Error("command");
        lookups[i]->Answer(std::nullopt);
      }
    } else if (reply->type == REDIS_REPLY_ERROR) {
      Error("command");
    }
  }
  breaker_.RecordSuccess();
}

void RedisCache::RunConnection() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    if (!connected_) {
      lookups_.clear();  // (none: Lookup queues only while connected; Fail answered the rest)
      stores_.clear();
      if (!breaker_.Allow()) {
        wake_connection_.wait_until(lock, breaker_.retry_at());
        continue;
      }
      lock.unlock();
      Connect();
      lock.lock();
      continue;
    }
    if (lookups_.empty() && stores_.empty()) {
      wake_connection_.wait(lock);
      continue;
    }
    std::vector<std::shared_ptr<PendingLookup>> lookups;
    std::vector<PendingStore> stores;
    while (!lookups_.empty() && lookups.size() < kMaxBatch) {
      if (!lookups_.front()->answered.load()) lookups.push_back(std::move(lookups_.front()));
      lookups_.pop_front();
    }
    while (!stores_.empty() && stores.size() < kMaxBatch) {
      stores.push_back(std::move(stores_.front()));
      stores_.pop_front();
    }
    lock.unlock();
    if (!lookups.empty() || !stores.empty()) SendBatch(lookups, stores);
    lock.lock();
  }
}

}  // namespace accel
