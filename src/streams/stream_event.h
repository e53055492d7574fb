// What a watched stream reports: track events (a confirmed object appears, moves, is lost) and per-label
// counts. Produced by the tracker (streams/tracker.h) for one stream, consumed by the outputs (MQTT, Redis
// Streams, Server-Sent Events). docs/streams.md describes the JSON form.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "vision/detection.h"

namespace accel {

enum class StreamEventType { kStart, kUpdate, kEnd };
const char* StreamEventTypeName(StreamEventType type);  // "start", "update", "end"

struct StreamEvent {
  StreamEventType type = StreamEventType::kStart;
  std::string stream;          // the stream's name
  std::uint64_t track_id = 0;  // unique within the stream for the life of the service
  std::string label;
  float score = 0;                 // the track's best confidence so far
  Box box;                         // latest box, in the stream's frame pixels
  std::vector<std::string> zones;  // zones the box's bottom centre is in (empty: none, or no zones set)
  double first_seen = 0;           // Unix seconds (UTC), the first frame of the track
  double last_seen = 0;            // Unix seconds, the latest frame the object was seen in
  double timestamp = 0;            // Unix seconds, when the event was made
  std::uint64_t frame = 0;         // the stream's frame counter of the frame that made the event
  std::string snapshot;  // reference to the annotated snapshot (the snapshot URL path); may be empty
};

// Objects currently tracked per label (confirmed tracks only), after a frame.
struct StreamCounts {
  std::string stream;
  double timestamp = 0;
  std::map<std::string, int> per_label;
};

// One JSON object per event / counts, the same on every output.
std::string StreamEventJson(const StreamEvent& event);
std::string StreamCountsJson(const StreamCounts& counts);

}  // namespace accel
