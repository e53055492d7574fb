#include "streams/ha_discovery.h"

#include <nlohmann/json.hpp>

namespace accel {
namespace {

std::string Join(std::initializer_list<std::string_view> parts) {
  std::string out;
  for (auto p : parts) {
    if (!out.empty()) out += '/';
    out += p;
  }
  return out;
}

nlohmann::json Device(std::string_view stream) {
  return {{"identifiers", nlohmann::json::array({"accel_" + MqttId(stream)})},
          {"name", std::string(stream)},
          {"manufacturer", "Accel"},
          {"model", "Watched stream"}};
}

std::string Dump(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string CameraConfigTopic(const HaDiscoveryTopics& t, std::string_view stream) {
  return Join({t.discovery_prefix, "camera", "accel_" + MqttId(stream), "config"});
}
std::string BinarySensorConfigTopic(const HaDiscoveryTopics& t, std::string_view stream,
                                    std::string_view label) {
  return Join(
      {t.discovery_prefix, "binary_sensor", "accel_" + MqttId(stream) + "_" + MqttId(label), "config"});
}
std::string SensorConfigTopic(const HaDiscoveryTopics& t, std::string_view stream, std::string_view label) {
  return Join(
      {t.discovery_prefix, "sensor", "accel_" + MqttId(stream) + "_" + MqttId(label) + "_count", "config"});
}

// What every entity's config carries: availability and the device (the stream).
nlohmann::json WithCommon(const HaDiscoveryTopics& t, std::string_view stream, nlohmann::json j) {
  j["availability_topic"] = StatusTopic(t.topic_prefix);
  j["payload_available"] = "online";
  j["payload_not_available"] = "offline";
  j["device"] = Device(stream);
  return j;
}

}  // namespace

std::string MqttId(std::string_view name) {
  std::string out;
  bool gap = false;
  for (char c : name) {
    const unsigned char u = static_cast<unsigned char>(c);
    if ((u >= 'a' && u <= 'z') || (u >= '0' && u <= '9')) {
      if (gap && !out.empty()) out += '_';
      gap = false;
      out += c;
    } else if (u >= 'A' && u <= 'Z') {
      if (gap && !out.empty()) out += '_';
      gap = false;
      out += static_cast<char>(u - 'A' + 'a');
    } else {
      gap = true;
    }
  }
  return out.empty() ? "_" : out;
}

std::string CountTopic(std::string_view prefix, std::string_view stream, std::string_view label) {
  return Join({prefix, MqttId(stream), MqttId(label), "count"});
}
std::string EventsTopic(std::string_view prefix, std::string_view stream) {
  return Join({prefix, MqttId(stream), "events"});
}
std::string SnapshotTopic(std::string_view prefix, std::string_view stream) {
  return Join({prefix, MqttId(stream), "snapshot"});
}
std::string StatusTopic(std::string_view prefix) { return Join({prefix, "status"}); }

std::vector<MqttMessage> HaDiscoveryConfigs(const HaDiscoveryTopics& t, std::string_view stream,
                                            const std::vector<std::string>& labels) {
  std::vector<MqttMessage> out;
  if (t.discovery_prefix.empty()) return out;
  const std::string stream_id = MqttId(stream);
  out.push_back({CameraConfigTopic(t, stream),
                 Dump(WithCommon(t, stream,
                                 {{"name", "Snapshot"},
                                  {"unique_id", "accel_" + stream_id + "_snapshot"},
                                  {"object_id", "accel_" + stream_id + "_snapshot"},
                                  {"topic", SnapshotTopic(t.topic_prefix, stream)}})),
                 true});
  for (auto& m : HaDiscoveryLabelConfigs(t, stream, labels)) out.push_back(std::move(m));
  return out;
}

std::vector<MqttMessage> HaDiscoveryLabelConfigs(const HaDiscoveryTopics& t, std::string_view stream,
                                                 const std::vector<std::string>& labels) {
  std::vector<MqttMessage> out;
  if (t.discovery_prefix.empty()) return out;
  const std::string stream_id = MqttId(stream);
  auto common = [&](nlohmann::json j) { return WithCommon(t, stream, std::move(j)); };
  for (const auto& label : labels) {
    const std::string id = "accel_" + stream_id + "_" + MqttId(label);
    const std::string state = CountTopic(t.topic_prefix, stream, label);
    out.push_back({BinarySensorConfigTopic(t, stream, label),
                   Dump(common({{"name", label},
                                {"unique_id", id},
                                {"object_id", id},
                                {"device_class", "occupancy"},
                                {"state_topic", state},
                                {"value_template", "{{ 'ON' if (value | int(0)) > 0 else 'OFF' }}"},
                                {"payload_on", "ON"},
                                {"payload_off", "OFF"}})),
                   true});
    out.push_back({SensorConfigTopic(t, stream, label),
                   Dump(common({{"name", label + " count"},
                                {"unique_id", id + "_count"},
                                {"object_id", id + "_count"},
                                {"state_topic", state},
                                {"state_class", "measurement"},
                                {"icon", "mdi:counter"}})),
                   true});
  }
  return out;
}

std::vector<MqttMessage> HaDiscoveryRemovals(const HaDiscoveryTopics& t, std::string_view stream,
                                             const std::vector<std::string>& labels) {
  std::vector<MqttMessage> out;
  if (t.discovery_prefix.empty()) return out;
  out.push_back({CameraConfigTopic(t, stream), "", true});
  for (const auto& label : labels) {
    out.push_back({BinarySensorConfigTopic(t, stream, label), "", true});
    out.push_back({SensorConfigTopic(t, stream, label), "", true});
  }
  return out;
}

}  // namespace accel
