#include "streams/redis_stream_sink.h"

#include <hiredis/hiredis.h>
#include <sys/time.h>

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include "cache/redis_url.h"
#include "core/logging.h"

namespace accel {
namespace {

constexpr size_t kMaxBatch = 64;

timeval ToTimeval(std::chrono::milliseconds d) {
  timeval tv;
  tv.tv_sec = static_cast<time_t>(d.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((d.count() % 1000) * 1000);
  return tv;
}

struct ReplyDeleter {
  void operator()(redisReply* r) const {
    if (r) freeReplyObject(r);
  }
};
using Reply = std::unique_ptr<redisReply, ReplyDeleter>;

std::string Score(float score) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.4f", static_cast<double>(score));
  return buffer;
}

class RedisStreamSink final : public EventSink {
 public:
  RedisStreamSink(RedisStreamSinkOptions options, RedisUrl url)
      : options_(std::move(options)), url_(std::move(url)), maxlen_(std::to_string(options_.maxlen)) {
    worker_ = std::thread([this] { Run(); });
  }

  ~RedisStreamSink() override {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    wake_.notify_all();
    worker_.join();
    if (context_) redisFree(context_);
  }

  std::string_view name() const override { return "redis"; }

  void Publish(const StreamEvent& event) override {
    Enqueue({options_.key_prefix + ":" + event.stream,
             {"type", StreamEventTypeName(event.type), "track_id", std::to_string(event.track_id), "label",
              event.label, "score", Score(event.score), "json", StreamEventJson(event)}});
  }

  void PublishCounts(const StreamCounts& counts) override {
    if (!options_.counts) return;
    Enqueue(
        {options_.key_prefix + ":" + counts.stream, {"type", "counts", "json", StreamCountsJson(counts)}});
  }

  void PublishSnapshot(std::string_view, std::string_view) override {}  // no images in Redis Streams
  void StreamAdded(std::string_view, const std::vector<std::string>&) override {}
  void StreamRemoved(std::string_view) override {}  // the entries stay: they are history

  EventSinkStats Stats() const override {
    std::lock_guard lock(mu_);
    EventSinkStats s;
    s.published = published_;
    s.dropped = dropped_;
    s.buffered = queue_.size() + sending_;
    s.connected = connected_;
    s.last_error = last_error_;
    return s;
  }

 private:
  struct Entry {
    std::string key;
    std::vector<std::string> fields;  // name, value, name, value...
  };

  void Enqueue(Entry entry) {
    {
      std::lock_guard lock(mu_);
      if (queue_.size() >= options_.queue_limit) {
        queue_.pop_front();
        ++dropped_;
      }
      queue_.push_back(std::move(entry));
    }
    wake_.notify_one();
  }

  // Worker thread only: sets the failure, drops the connection, logs a change of reason once.
  void Fail(const std::string& reason, size_t lost) {
    if (context_) redisFree(context_);
    context_ = nullptr;
    bool log = false;
    {
      std::lock_guard lock(mu_);
      const bool was = connected_;
      connected_ = false;
      dropped_ += lost;
      last_error_ = reason;
      log = was || logged_error_ != reason;
      logged_error_ = reason;
    }
    if (log)
      ACCEL_LOG(kWarn, "redis-streams")
          << "Redis at " << url_.Display() << ": " << reason << "; events are queued (up to "
          << options_.queue_limit << ") while it reconnects";
  }

  bool Connect() {
    context_ = redisConnectWithTimeout(url_.host.c_str(), url_.port, ToTimeval(options_.connect_timeout));
    if (!context_ || context_->err) {
      Fail(std::string("cannot connect (") + (context_ ? context_->errstr : "out of memory") + ")", 0);
      return false;
    }
    redisSetTimeout(context_, ToTimeval(options_.io_timeout));
    redisEnableKeepAlive(context_);
    auto command = [&](std::vector<std::string> args, const char* what) {
      std::vector<const char*> argv;
      std::vector<size_t> lengths;
      for (const auto& a : args) {
        argv.push_back(a.data());
        lengths.push_back(a.size());
      }
      Reply reply(static_cast<redisReply*>(
          redisCommandArgv(context_, static_cast<int>(argv.size()), argv.data(), lengths.data())));
      if (!reply) {
        Fail(std::string(what) + " failed (" + context_->errstr + ")", 0);
        return false;
      }
      if (reply->type == REDIS_REPLY_ERROR) {
        Fail(std::string(what) + " refused: " + std::string(reply->str, reply->len), 0);
        return false;
      }
      return true;
    };
    if (!url_.password.empty()) {
      std::vector<std::string> auth = {"AUTH"};
      if (!url_.username.empty()) auth.push_back(url_.username);
      auth.push_back(url_.password);
      if (!command(auth, "AUTH")) return false;
    }
    if (url_.db != 0 && !command({"SELECT", std::to_string(url_.db)}, "SELECT")) return false;
    bool recovered;
    {
      std::lock_guard lock(mu_);
      connected_ = true;
      recovered = !logged_error_.empty();
      logged_error_.clear();
      last_error_.clear();
    }
    ACCEL_LOG(kInfo, "redis-streams")
        << (recovered ? "reconnected to Redis at " : "connected to Redis at ") << url_.Display();
    return true;
  }

  // One pipelined batch of XADDs; false when the connection failed.
  bool Send(std::vector<Entry>& batch) {
    for (const auto& e : batch) {
      std::vector<const char*> argv = {"XADD", e.key.data(), "MAXLEN", "~", maxlen_.data(), "*"};
      std::vector<size_t> lengths = {4, e.key.size(), 6, 1, maxlen_.size(), 1};
      for (const auto& f : e.fields) {
        argv.push_back(f.data());
        lengths.push_back(f.size());
      }
      redisAppendCommandArgv(context_, static_cast<int>(argv.size()), argv.data(), lengths.data());
    }
    for (size_t i = 0; i < batch.size(); ++i) {
      void* raw = nullptr;
      if (redisGetReply(context_, &raw) != REDIS_OK) {
        Fail("connection lost (" + std::string(context_->errstr) + ")", batch.size() - i);
        return false;
      }
      Reply reply(static_cast<redisReply*>(raw));
      std::lock_guard lock(mu_);
      if (reply->type == REDIS_REPLY_ERROR) {
        ++dropped_;
        last_error_ = "XADD refused: " + std::string(reply->str, reply->len);
      } else {
        ++published_;
      }
    }
    return true;
  }

  void Run() {
    auto backoff = options_.reconnect_min;
    std::unique_lock lock(mu_);
    while (!stopping_) {
      if (!context_) {
        lock.unlock();
        const bool ok = Connect();
        lock.lock();
        if (!ok) {
          wake_.wait_for(lock, backoff, [&] { return stopping_; });
          backoff = std::min(options_.reconnect_max, backoff * 2);
          continue;
        }
        backoff = options_.reconnect_min;
      }
      if (queue_.empty()) {
        wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
        continue;
      }
      std::vector<Entry> batch;
      while (!queue_.empty() && batch.size() < kMaxBatch) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      sending_ = batch.size();
      lock.unlock();
      Send(batch);
      lock.lock();
      sending_ = 0;
    }
  }

  const RedisStreamSinkOptions options_;
  const RedisUrl url_;
  const std::string maxlen_;
  redisContext* context_ = nullptr;  // worker thread only

  mutable std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;
  bool connected_ = false;
  std::deque<Entry> queue_;
  size_t sending_ = 0;
  std::uint64_t published_ = 0;
  std::uint64_t dropped_ = 0;
  std::string last_error_ = "not connected yet";
  std::string logged_error_;
  std::thread worker_;
};

}  // namespace

StatusOr<std::unique_ptr<EventSink>> MakeRedisStreamSink(RedisStreamSinkOptions options) {
  auto url = ParseRedisUrl(options.url);
  if (!url.ok()) return url.status();
  if (options.key_prefix.empty()) return InvalidArgument("Redis Streams: the key prefix must not be empty");
  if (options.maxlen < 1) return InvalidArgument("Redis Streams: maxlen must be at least 1");
  if (options.queue_limit < 1) return InvalidArgument("Redis Streams: the queue limit must be at least 1");
  options.reconnect_min = std::max(options.reconnect_min, std::chrono::milliseconds(10));
  options.reconnect_max = std::max(options.reconnect_max, options.reconnect_min);
  return std::unique_ptr<EventSink>(new RedisStreamSink(std::move(options), std::move(url.value())));
}

}  // namespace accel
