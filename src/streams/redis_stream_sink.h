// The Redis Streams output of watched streams (docs/streams.md "Redis Streams"): one entry per event,
//   XADD <key_prefix>:<stream> MAXLEN ~ <maxlen> * type <type> track_id <id> label <label> score <score>
//        json <StreamEventJson>
// and, when `counts` is on, one entry per counts report (type "counts", json StreamCountsJson). MAXLEN ~
// keeps each stream near maxlen entries (Redis trims whole internal nodes, so a little above).
//
// Threads: the Publish* methods only queue (bounded: beyond queue_limit the oldest entry is dropped and
// counted); one thread of the sink's own owns the connection (hiredis, blocking, with connect and command
// timeouts), sends what is queued as pipelined batches, and reconnects with exponential back-off when
// Redis is away. An entry whose batch fails is counted as dropped (Redis may or may not have it).
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include "core/status.h"
#include "streams/event_sink.h"

namespace accel {

struct RedisStreamSinkOptions {
  std::string url = "redis://localhost:6379";  // REDIS_URL form: redis://[[user]:password@]host[:port][/db]
  std::string key_prefix = "accel:events";     // entries go to <key_prefix>:<stream name>
  size_t maxlen = 10000;                       // per stream (approximate, MAXLEN ~); at least 1
  bool counts = false;                         // also an entry per counts report
  size_t queue_limit = 1000;                   // entries waiting at most; at least 1
  std::chrono::milliseconds connect_timeout{500};
  std::chrono::milliseconds io_timeout{500};
  std::chrono::milliseconds reconnect_min{100};  // back-off between attempts doubles from min to max
  std::chrono::milliseconds reconnect_max{10000};
};

// InvalidArgument for a bad URL (the password never appears in the message), key prefix or limits. The
// connection is made in the background: an unreachable Redis is not an error here.
StatusOr<std::unique_ptr<EventSink>> MakeRedisStreamSink(RedisStreamSinkOptions options);

}  // namespace accel
