#include "streams/stream_event.h"

#include <cmath>
#include <nlohmann/json.hpp>

namespace accel {
namespace {

double Round(double value, int decimals) {
  const double f = std::pow(10.0, decimals);
  return std::round(value * f) / f;
}

}  // namespace

const char* StreamEventTypeName(StreamEventType type) {
  switch (type) {
    case StreamEventType::kStart:
      return "start";
    case StreamEventType::kUpdate:
      return "update";
    case StreamEventType::kEnd:
      return "end";
  }
  return "unknown";
}

// Boxes as on /ai/infer (pixels, one decimal); scores to 4 decimals; times to the millisecond. Every field
// is always present ("snapshot": "" and "zones": [] when there are none), so consumers need no checks.
std::string StreamEventJson(const StreamEvent& event) {
  nlohmann::json j = {
      {"type", StreamEventTypeName(event.type)},
      {"stream", event.stream},
      {"track_id", event.track_id},
      {"label", event.label},
      {"score", Round(event.score, 4)},
      {"box",
       {{"x_min", Round(event.box.x_min, 1)},
        {"y_min", Round(event.box.y_min, 1)},
        {"x_max", Round(event.box.x_max, 1)},
        {"y_max", Round(event.box.y_max, 1)}}},
      {"zones", event.zones},
      {"first_seen", Round(event.first_seen, 3)},
      {"last_seen", Round(event.last_seen, 3)},
      {"timestamp", Round(event.timestamp, 3)},
      {"frame", event.frame},
      {"snapshot", event.snapshot},
  };
  // Names come from configuration and models; never let a stray byte make the whole event unserialisable.
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string StreamCountsJson(const StreamCounts& counts) {
  nlohmann::json j = {
      {"type", "counts"},
      {"stream", counts.stream},
      {"timestamp", Round(counts.timestamp, 3)},
      {"counts", counts.per_label},
  };
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace accel
