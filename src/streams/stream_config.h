// What one watched stream is: its source, how it is sampled and filtered, its zones, its outputs and its
// tracker settings. One definition for the API (JSON), the streams file (YAML) and the runner, with one
// validation (ValidateStreamConfig) whose messages name the field.
#pragma once

#include <nlohmann/json.hpp>

#include <functional>
#include <string>
#include <vector>

#include "core/status.h"
#include "streams/stream_tracker.h"

namespace YAML {
class Node;
}

namespace accel {

// Bounds a client or a streams file may not exceed (docs/streams.md).
inline constexpr int kMaxStreams = 64;
inline constexpr int kMaxZonesPerStream = 16;
inline constexpr int kMaxZonePoints = 64;
inline constexpr int kMaxTargets = 100;
inline constexpr double kMinStreamFps = 0.1;
inline constexpr double kMaxStreamFps = 30;
inline constexpr size_t kMaxUrlLength = 2048;

struct StreamOutputs {
  bool mqtt = false;   // publish to the MQTT broker of --mqtt-url
  bool redis = false;  // XADD to the Redis stream of --events-redis-url
};

struct StreamConfig {
  std::string name;   // [a-z0-9_-]{1,64}
  std::string url;    // with credentials, if any: never logged or returned as is (RedactUrl)
  std::string model;  // "": the service's default model
  std::string engine = "auto";
  double fps = 5;  // detections per second, 0.1..30
  float threshold = 0.5f;
  std::vector<std::string> targets;  // labels to keep; empty: all
  std::vector<Zone> zones;
  StreamOutputs outputs;
  TrackerOptions tracker;
  bool loop = false;    // files: replay at the end
  std::string hwaccel;  // "", "vaapi", "cuda"
};

// `model_exists(name)`: whether the service can run that model ("" means the default model). `engines`: the
// engine kinds a client may name besides "auto".
struct StreamValidation {
  std::function<bool(const std::string&)> model_exists;
  std::vector<std::string> engines;
};
Status ValidateStreamConfig(const StreamConfig& config, const StreamValidation& validation);

// From a client's JSON object (POST/PUT /ai/streams) or a YAML mapping (the streams file, converted):
// types checked, unknown fields refused, defaults for the rest. Does not validate ranges.
StatusOr<StreamConfig> StreamConfigFromJson(const nlohmann::json& object);
// The YAML node as JSON: scalars become numbers or booleans when they read as one (unless quoted).
nlohmann::json YamlToJson(const YAML::Node& node);

// The stream as JSON. `redact`: the URL with credentials hidden (every API answer); false only for the
// streams file.
nlohmann::json StreamConfigToJson(const StreamConfig& config, bool redact);

// Whether `name` is a valid stream name.
bool ValidStreamName(const std::string& name);

}  // namespace accel
