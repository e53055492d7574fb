// An output of stream events (MQTT, Redis Streams, the Server-Sent Events hub). The stream runner calls
// these from its own thread after each detected frame; a sink must never block it (a slow or absent
// receiver is buffered up to a bound, or dropped and counted) and must never throw.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "streams/stream_event.h"

namespace accel {

struct EventSinkStats {
  std::uint64_t published = 0;  // handed to the receiver
  std::uint64_t dropped = 0;    // lost: buffer full, or the receiver refused them
  std::uint64_t buffered = 0;   // waiting now
  bool connected = false;
  std::string last_error;  // empty when none; never contains credentials
};

class EventSink {
 public:
  virtual ~EventSink() = default;
  virtual std::string_view name() const = 0;  // "mqtt", "redis", "sse"
  virtual void Publish(const StreamEvent& event) = 0;
  virtual void PublishCounts(const StreamCounts& counts) = 0;
  // The latest annotated frame of a stream, JPEG bytes. Sinks that do not carry images ignore it.
  virtual void PublishSnapshot(std::string_view stream, std::string_view jpeg) = 0;
  // A stream was added (or changed) / removed: sinks that announce streams (Home Assistant discovery)
  // publish or retract them. `labels`: the stream's targets; empty when it reports any label of its model
  // (a sink announces those as they appear in PublishCounts).
  virtual void StreamAdded(std::string_view stream, const std::vector<std::string>& labels) = 0;
  virtual void StreamRemoved(std::string_view stream) = 0;
  virtual EventSinkStats Stats() const = 0;
};

}  // namespace accel
