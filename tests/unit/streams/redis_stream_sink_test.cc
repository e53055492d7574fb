// The Redis Streams output against a real redis-server started here on a free port.
#include "streams/redis_stream_sink.h"

#include <gtest/gtest.h>
#include <hiredis/hiredis.h>

#include <map>
#include <nlohmann/json.hpp>

#include "server_process.h"

namespace accel {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::ServerProcess;
using testing::TempDir;
using testing::WaitFor;

class RedisServer {
 public:
  explicit RedisServer(const TempDir& dir) : dir_(dir), port_(testing::FreePort()) {}
  bool Start() {
    const std::string binary = testing::FindProgram({"redis-server"});
    if (binary.empty()) return false;
    // Small internal stream nodes, so that MAXLEN ~ trims close to the limit.
    return process_.Start({binary, "--port", std::to_string(port_), "--bind", "127.0.0.1", "--save", "",
                           "--appendonly", "no", "--dir", dir_.path(), "--stream-node-max-entries", "10"},
                          port_, dir_.path() + "/redis.log");
  }
  void Kill() { process_.Kill(); }
  int port() const { return port_; }

  // A command on a fresh connection; nullptr when Redis does not answer.
  std::unique_ptr<redisReply, void (*)(void*)> Command(const std::vector<std::string>& args) const {
    std::unique_ptr<redisReply, void (*)(void*)> none(nullptr, freeReplyObject);
    redisContext* c = redisConnect("127.0.0.1", port_);
    if (!c || c->err) {
      if (c) redisFree(c);
      return none;
    }
    std::vector<const char*> argv;
    std::vector<size_t> lengths;
    for (const auto& a : args) {
      argv.push_back(a.data());
      lengths.push_back(a.size());
    }
    auto* r = static_cast<redisReply*>(
        redisCommandArgv(c, static_cast<int>(args.size()), argv.data(), lengths.data()));
    redisFree(c);
    return {r, freeReplyObject};
  }
  long long XLen(const std::string& key) const {
    auto r = Command({"XLEN", key});
    return r && r->type == REDIS_REPLY_INTEGER ? r->integer : -1;
  }

 private:
  const TempDir& dir_;
  int port_;
  ServerProcess process_;
};

StreamEvent Event(StreamEventType type, std::uint64_t track_id, const std::string& label = "person") {
  StreamEvent e;
  e.type = type;
  e.stream = "gate";
  e.track_id = track_id;
  e.label = label;
  e.score = 0.91f;
  e.box = {1, 2, 30, 40};
  e.timestamp = 1'800'000'000.0 + track_id;
  return e;
}

TEST(RedisStreamSink, RefusesBadOptions) {
  RedisStreamSinkOptions o;
  o.url = "http://localhost";
  EXPECT_FALSE(MakeRedisStreamSink(o).ok());
  o = {};
  o.url = "redis://:secret@localhost:notaport";
  auto r = MakeRedisStreamSink(o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message().find("secret"), std::string::npos);
  o = {};
  o.maxlen = 0;
  EXPECT_FALSE(MakeRedisStreamSink(o).ok());
  o = {};
  o.key_prefix = "";
  EXPECT_FALSE(MakeRedisStreamSink(o).ok());
}

TEST(RedisStreamSink, AddsOneEntryPerEventWithItsFieldsAndMaxlenBoundsTheStream) {
  TempDir dir;
  RedisServer redis(dir);
  ASSERT_TRUE(redis.Start()) << "redis-server did not start (scripts/setup --test installs it)";
  RedisStreamSinkOptions options;
  options.url = "redis://127.0.0.1:" + std::to_string(redis.port());
  options.maxlen = 50;
  options.counts = true;
  auto made = MakeRedisStreamSink(options);
  ASSERT_TRUE(made.ok()) << made.status().message();
  auto sink = std::move(made.value());
  EXPECT_EQ(sink->name(), "redis");

  sink->Publish(Event(StreamEventType::kStart, 7, "car"));
  sink->PublishCounts({"gate", 1'800'000'001.0, {{"car", 1}}});
  sink->Publish(Event(StreamEventType::kEnd, 7, "car"));
  ASSERT_TRUE(WaitFor([&] { return redis.XLen("accel:events:gate") == 3; }, seconds(10)));
  auto range = redis.Command({"XRANGE", "accel:events:gate", "-", "+"});
  ASSERT_TRUE(range && range->type == REDIS_REPLY_ARRAY);
  ASSERT_EQ(range->elements, 3u);
  std::vector<std::map<std::string, std::string>> entries;
  for (size_t i = 0; i < range->elements; ++i) {
    redisReply* fields = range->element[i]->element[1];
    std::map<std::string, std::string> m;
    for (size_t k = 0; k + 1 < fields->elements; k += 2)
      m[std::string(fields->element[k]->str, fields->element[k]->len)] =
          std::string(fields->element[k + 1]->str, fields->element[k + 1]->len);
    entries.push_back(m);
  }
  EXPECT_EQ(entries[0]["type"], "start");
  EXPECT_EQ(entries[0]["track_id"], "7");
  EXPECT_EQ(entries[0]["label"], "car");
  EXPECT_EQ(entries[0]["score"], "0.9100");
  auto json = nlohmann::json::parse(entries[0]["json"]);
  EXPECT_EQ(json["type"], "start");
  EXPECT_EQ(json["stream"], "gate");
  EXPECT_DOUBLE_EQ(json["box"]["y_max"].get<double>(), 40);
  EXPECT_EQ(entries[1]["type"], "counts");
  EXPECT_EQ(nlohmann::json::parse(entries[1]["json"])["counts"]["car"], 1);
  EXPECT_EQ(entries[2]["type"], "end");

  // 300 more: MAXLEN ~ 50 keeps the stream near 50 (whole nodes of 10 are trimmed).
  for (std::uint64_t id = 100; id < 400; ++id) sink->Publish(Event(StreamEventType::kStart, id));
  ASSERT_TRUE(WaitFor([&] { return sink->Stats().published == 303; }, seconds(10)));
  const long long length = redis.XLen("accel:events:gate");
  EXPECT_GE(length, 50);
  EXPECT_LE(length, 60);
  EventSinkStats stats = sink->Stats();
  EXPECT_TRUE(stats.connected);
  EXPECT_EQ(stats.dropped, 0u);
  EXPECT_EQ(stats.buffered, 0u);
  EXPECT_EQ(stats.last_error, "");
}

TEST(RedisStreamSink, RedisGoneDropsAndCountsWithoutBlockingThenResumes) {
  TempDir dir;
  RedisServer redis(dir);
  ASSERT_TRUE(redis.Start()) << "redis-server did not start (scripts/setup --test installs it)";
  RedisStreamSinkOptions options;
  options.url = "redis://127.0.0.1:" + std::to_string(redis.port());
  options.queue_limit = 20;
  options.reconnect_min = milliseconds(50);
  options.reconnect_max = milliseconds(200);
  auto made = MakeRedisStreamSink(options);
  ASSERT_TRUE(made.ok()) << made.status().message();
  auto sink = std::move(made.value());
  sink->Publish(Event(StreamEventType::kStart, 1));
  // Acknowledged (not only stored): an entry whose reply is lost with the connection counts as dropped.
  ASSERT_TRUE(WaitFor([&] { return sink->Stats().published == 1; }, seconds(10)));
  ASSERT_EQ(redis.XLen("accel:events:gate"), 1);

  redis.Kill();
  // The sink learns that Redis is gone when it next writes: the first events after the kill may be lost
  // with their batch (counted), the rest wait in the queue up to its bound.
  const auto begin = std::chrono::steady_clock::now();
  std::chrono::nanoseconds slowest{0};
  for (std::uint64_t id = 2; id <= 201; ++id) {
    const auto t0 = std::chrono::steady_clock::now();
    sink->Publish(Event(StreamEventType::kStart, id));
    slowest = std::max(slowest, std::chrono::steady_clock::now() - t0);
    if (id == 2) ASSERT_TRUE(WaitFor([&] { return !sink->Stats().connected; }, seconds(10)));
  }
  const auto burst = std::chrono::steady_clock::now() - begin;
  EXPECT_LT(burst, seconds(5));  // includes the wait for the sink to notice; each call: `slowest`
  EXPECT_LT(slowest, milliseconds(100));
  EventSinkStats away = sink->Stats();
  EXPECT_FALSE(away.connected);
  EXPECT_NE(away.last_error, "");
  EXPECT_EQ(away.buffered, 20u);
  EXPECT_EQ(away.published, 1u);
  EXPECT_EQ(away.published + away.dropped + away.buffered, 201u);  // every event accounted for

  ASSERT_TRUE(redis.Start());
  // Resumed: the 20 queued events arrive (a fresh server without persistence: nothing else is there).
  ASSERT_TRUE(WaitFor([&] { return redis.XLen("accel:events:gate") == 20; }, seconds(10)));
  auto last = redis.Command({"XREVRANGE", "accel:events:gate", "+", "-", "COUNT", "1"});
  ASSERT_TRUE(last && last->elements == 1);
  redisReply* fields = last->element[0]->element[1];
  EXPECT_EQ(std::string(fields->element[3]->str), "201");  // track_id of the newest
  sink->Publish(Event(StreamEventType::kEnd, 201));
  ASSERT_TRUE(WaitFor([&] { return redis.XLen("accel:events:gate") == 21; }, seconds(10)));
  EXPECT_TRUE(sink->Stats().connected);
  EXPECT_EQ(sink->Stats().dropped, 180u);
}

}  // namespace
}  // namespace accel
