#include "streams/stream_config.h"

#include <yaml-cpp/yaml.h>

#include <cmath>
#include <cstdlib>
#include <set>

#include "streams/frame_source.h"

namespace accel {
namespace {

using json = nlohmann::json;

Status WrongType(const std::string& field, const char* expected) {
  return InvalidArgument("'" + field + "' must be " + expected);
}

// Checked readers: absent or null leaves *out unchanged.
Status ReadString(const json& object, const char* key, std::string* out, const std::string& prefix = "") {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return Status::Ok();
  if (!it->is_string()) return WrongType(prefix + key, "a string");
  *out = it->get<std::string>();
  return Status::Ok();
}

Status ReadNumber(const json& object, const char* key, double* out, const std::string& prefix = "") {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return Status::Ok();
  if (!it->is_number()) return WrongType(prefix + key, "a number");
  *out = it->get<double>();
  if (!std::isfinite(*out)) return WrongType(prefix + key, "a finite number");
  return Status::Ok();
}

Status ReadBool(const json& object, const char* key, bool* out, const std::string& prefix = "") {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return Status::Ok();
  if (!it->is_boolean()) return WrongType(prefix + key, "true or false");
  *out = it->get<bool>();
  return Status::Ok();
}

Status CheckKnownFields(const json& object, const std::set<std::string>& known, const std::string& where) {
  for (auto it = object.begin(); it != object.end(); ++it) {
    if (!known.count(it.key())) {
      std::string name = it.key().substr(0, 64);
      return InvalidArgument("unknown field '" + where + name + "'");
    }
  }
  return Status::Ok();
}

StatusOr<std::vector<Zone>> ReadZones(const json& zones) {
  if (!zones.is_array()) return WrongType("zones", "an array of {name, points}");
  if (zones.size() > static_cast<size_t>(kMaxZonesPerStream))
    return InvalidArgument("at most " + std::to_string(kMaxZonesPerStream) + " zones per stream");
  std::vector<Zone> out;
  for (size_t i = 0; i < zones.size(); ++i) {
    const json& z = zones[i];
    const std::string where = "zones[" + std::to_string(i) + "]";
    if (!z.is_object()) return WrongType(where, "an object {name, points}");
    ACCEL_RETURN_IF_ERROR(CheckKnownFields(z, {"name", "points"}, where + "."));
    Zone zone;
    ACCEL_RETURN_IF_ERROR(ReadString(z, "name", &zone.name, where + "."));
    auto points = z.find("points");
    if (points == z.end() || !points->is_array())
      return WrongType(where + ".points", "an array of [x, y] points");
    if (points->size() > static_cast<size_t>(kMaxZonePoints))
      return InvalidArgument(where + ".points: at most " + std::to_string(kMaxZonePoints) + " points");
    for (const json& p : *points) {
      if (!p.is_array() || p.size() != 2 || !p[0].is_number() || !p[1].is_number())
        return WrongType(where + ".points", "an array of [x, y] number pairs");
      const double x = p[0].get<double>(), y = p[1].get<double>();
      if (!std::isfinite(x) || !std::isfinite(y) || std::fabs(x) > 1e6 || std::fabs(y) > 1e6)
        return InvalidArgument(where + ".points: coordinates must be finite pixel positions");
      zone.polygon.emplace_back(static_cast<float>(x), static_cast<float>(y));
    }
    out.push_back(std::move(zone));
  }
  return out;
}

}  // namespace

bool ValidStreamName(const std::string& name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-')) return false;
  return true;
}

StatusOr<StreamConfig> StreamConfigFromJson(const json& object) {
  if (!object.is_object()) return InvalidArgument("a stream must be a JSON object");
  ACCEL_RETURN_IF_ERROR(CheckKnownFields(object,
                                         {"name", "url", "model", "engine", "fps", "threshold", "targets",
                                          "zones", "outputs", "tracker", "loop", "hwaccel"},
                                         ""));
  StreamConfig c;
  ACCEL_RETURN_IF_ERROR(ReadString(object, "name", &c.name));
  ACCEL_RETURN_IF_ERROR(ReadString(object, "url", &c.url));
  ACCEL_RETURN_IF_ERROR(ReadString(object, "model", &c.model));
  ACCEL_RETURN_IF_ERROR(ReadString(object, "engine", &c.engine));
  ACCEL_RETURN_IF_ERROR(ReadNumber(object, "fps", &c.fps));
  double threshold = c.threshold;
  ACCEL_RETURN_IF_ERROR(ReadNumber(object, "threshold", &threshold));
  c.threshold = static_cast<float>(threshold);
  ACCEL_RETURN_IF_ERROR(ReadBool(object, "loop", &c.loop));
  ACCEL_RETURN_IF_ERROR(ReadString(object, "hwaccel", &c.hwaccel));
  if (auto it = object.find("targets"); it != object.end() && !it->is_null()) {
    if (!it->is_array()) return WrongType("targets", "an array of labels");
    if (it->size() > static_cast<size_t>(kMaxTargets))
      return InvalidArgument("at most " + std::to_string(kMaxTargets) + " targets");
    for (const json& t : *it) {
      if (!t.is_string() || t.get<std::string>().empty() || t.get<std::string>().size() > 128)
        return WrongType("targets", "an array of non-empty labels");
      c.targets.push_back(t.get<std::string>());
    }
  }
  if (auto it = object.find("zones"); it != object.end() && !it->is_null()) {
    ACCEL_ASSIGN_OR_RETURN(c.zones, ReadZones(*it));
  }
  if (auto it = object.find("outputs"); it != object.end() && !it->is_null()) {
    if (!it->is_object()) return WrongType("outputs", "an object {mqtt, redis}");
    ACCEL_RETURN_IF_ERROR(CheckKnownFields(*it, {"mqtt", "redis", "sse"}, "outputs."));
    ACCEL_RETURN_IF_ERROR(ReadBool(*it, "mqtt", &c.outputs.mqtt, "outputs."));
    ACCEL_RETURN_IF_ERROR(ReadBool(*it, "redis", &c.outputs.redis, "outputs."));
    bool sse = true;
    ACCEL_RETURN_IF_ERROR(ReadBool(*it, "sse", &sse, "outputs."));
    if (!sse) return InvalidArgument("outputs.sse cannot be turned off (it costs nothing without clients)");
  }
  if (auto it = object.find("tracker"); it != object.end() && !it->is_null()) {
    if (!it->is_object()) return WrongType("tracker", "an object");
    ACCEL_RETURN_IF_ERROR(
        CheckKnownFields(*it, {"min_hits", "max_age_s", "iou_threshold", "update_interval_s"}, "tracker."));
    double min_hits = c.tracker.min_hits, iou = c.tracker.iou_threshold;
    ACCEL_RETURN_IF_ERROR(ReadNumber(*it, "min_hits", &min_hits, "tracker."));
    if (min_hits != std::floor(min_hits)) return WrongType("tracker.min_hits", "a whole number");
    if (min_hits < 1 || min_hits > 100) return InvalidArgument("tracker.min_hits must be 1..100");
    c.tracker.min_hits = static_cast<int>(min_hits);
    ACCEL_RETURN_IF_ERROR(ReadNumber(*it, "max_age_s", &c.tracker.max_age_s, "tracker."));
    ACCEL_RETURN_IF_ERROR(ReadNumber(*it, "iou_threshold", &iou, "tracker."));
    c.tracker.iou_threshold = static_cast<float>(iou);
    ACCEL_RETURN_IF_ERROR(ReadNumber(*it, "update_interval_s", &c.tracker.update_interval_s, "tracker."));
  }
  return c;
}

Status ValidateStreamConfig(const StreamConfig& c, const StreamValidation& v) {
  if (!ValidStreamName(c.name))
    return InvalidArgument("'name' must be 1 to 64 characters of a-z, 0-9, '_' and '-'");
  if (c.url.empty()) return InvalidArgument("'url' is required");
  if (c.url.size() > kMaxUrlLength)
    return InvalidArgument("'url' is longer than " + std::to_string(kMaxUrlLength) + " characters");
  for (char ch : c.url)
    if (static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f)
      return InvalidArgument("'url' contains control characters");
  if (SourceKindOf(c.url).empty())
    return InvalidArgument(
        "'url' must be rtsp://, rtsps://, http://, https://, file:// or a path, or "
        "/dev/videoN: " +
        RedactUrl(c.url));
  if (!(c.fps >= kMinStreamFps && c.fps <= kMaxStreamFps)) return InvalidArgument("'fps' must be 0.1..30");
  if (!(c.threshold >= 0 && c.threshold <= 1)) return InvalidArgument("'threshold' must be 0..1");
  if (c.engine != "auto" && std::find(v.engines.begin(), v.engines.end(), c.engine) == v.engines.end()) {
    std::string known = "auto";
    for (const auto& e : v.engines) known += ", " + e;
    return InvalidArgument("'engine' must be one of: " + known);
  }
  if (v.model_exists && !v.model_exists(c.model))
    return InvalidArgument("model '" + (c.model.empty() ? std::string("(default)") : c.model) +
                           "' is not loaded");
  if (c.zones.size() > static_cast<size_t>(kMaxZonesPerStream))
    return InvalidArgument("at most " + std::to_string(kMaxZonesPerStream) + " zones per stream");
  std::set<std::string> zone_names;
  for (const Zone& z : c.zones) {
    if (z.name.empty() || z.name.size() > 64)
      return InvalidArgument("every zone needs a name of 1..64 characters");
    if (!zone_names.insert(z.name).second) return InvalidArgument("zone '" + z.name + "' appears twice");
    if (z.polygon.size() < 3) return InvalidArgument("zone '" + z.name + "' needs at least 3 points");
  }
  if (!(c.tracker.iou_threshold > 0 && c.tracker.iou_threshold <= 1))
    return InvalidArgument("'tracker.iou_threshold' must be in (0, 1]");
  if (c.tracker.min_hits < 1 || c.tracker.min_hits > 100)
    return InvalidArgument("'tracker.min_hits' must be 1..100");
  if (!(c.tracker.max_age_s > 0 && c.tracker.max_age_s <= 3600))
    return InvalidArgument("'tracker.max_age_s' must be in (0, 3600]");
  if (!(c.tracker.update_interval_s >= 0 && c.tracker.update_interval_s <= 3600))
    return InvalidArgument("'tracker.update_interval_s' must be 0..3600");
  if (!c.hwaccel.empty() && c.hwaccel != "vaapi" && c.hwaccel != "cuda")
    return InvalidArgument("'hwaccel' must be vaapi or cuda (or absent: software)");
  return Status::Ok();
}

json StreamConfigToJson(const StreamConfig& c, bool redact) {
  json zones = json::array();
  for (const Zone& z : c.zones) {
    json points = json::array();
    for (const auto& [x, y] : z.polygon) points.push_back({x, y});
    zones.push_back({{"name", z.name}, {"points", std::move(points)}});
  }
  json out = {{"name", c.name},
              {"url", redact ? RedactUrl(c.url) : c.url},
              {"model", c.model},
              {"engine", c.engine},
              {"fps", c.fps},
              {"threshold", c.threshold},
              {"targets", c.targets},
              {"zones", std::move(zones)},
              {"outputs", {{"mqtt", c.outputs.mqtt}, {"redis", c.outputs.redis}}},
              {"tracker",
               {{"min_hits", c.tracker.min_hits},
                {"max_age_s", c.tracker.max_age_s},
                {"iou_threshold", c.tracker.iou_threshold},
                {"update_interval_s", c.tracker.update_interval_s}}},
              {"loop", c.loop}};
  if (!c.hwaccel.empty()) out["hwaccel"] = c.hwaccel;
  return out;
}

json YamlToJson(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Sequence: {
      json out = json::array();
      for (const auto& item : node) out.push_back(YamlToJson(item));
      return out;
    }
    case YAML::NodeType::Map: {
      json out = json::object();
      for (const auto& item : node) out[item.first.Scalar()] = YamlToJson(item.second);
      return out;
    }
    case YAML::NodeType::Scalar: {
      const std::string& text = node.Scalar();
      if (node.Tag() == "!") return text;  // quoted: a string whatever it looks like
      if (text == "true" || text == "True") return true;
      if (text == "false" || text == "False") return false;
      if (text == "~" || text == "null") return nullptr;
      if (!text.empty()) {
        char* end = nullptr;
        const double number = std::strtod(text.c_str(), &end);
        if (end == text.c_str() + text.size() && std::isfinite(number)) return number;
      }
      return text;
    }
    default:
      return nullptr;
  }
}

}  // namespace accel
