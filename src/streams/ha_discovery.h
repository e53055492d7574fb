// Home Assistant MQTT discovery for watched streams (docs/streams.md "MQTT and Home Assistant"): the
// retained config messages that make Home Assistant create, per stream, a camera (the latest snapshot) and,
// per label, a binary_sensor ("<stream> <label>", on while at least one is tracked) and a count sensor; and
// the empty retained messages that delete them again. Pure functions: the MQTT sink publishes what they
// return.
//
// Both entities of a label read the same retained topic, <prefix>/<stream>/<label>/count; the binary
// sensor turns the count into ON/OFF with a value_template, so one message drives both.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace accel {

struct MqttMessage {
  std::string topic;
  std::string payload;
  bool retain = false;
};

// A stream or label name as an MQTT topic level and a Home Assistant object id: lower case, [a-z0-9_],
// every other character (or run of them) becomes one '_'. Never empty ("_" for a name with no usable
// character). Different names may map to the same id ("Front Door" and "front_door"): give streams names
// that differ in letters or digits.
std::string MqttId(std::string_view name);

struct HaDiscoveryTopics {
  std::string topic_prefix = "accel";
  std::string discovery_prefix = "homeassistant";
};

// <prefix>/<stream id>/<label id>/count, <prefix>/<stream id>/events, <prefix>/<stream id>/snapshot,
// <prefix>/status.
std::string CountTopic(std::string_view prefix, std::string_view stream, std::string_view label);
std::string EventsTopic(std::string_view prefix, std::string_view stream);
std::string SnapshotTopic(std::string_view prefix, std::string_view stream);
std::string StatusTopic(std::string_view prefix);

// The retained config messages for a stream (its camera) and its labels.
std::vector<MqttMessage> HaDiscoveryConfigs(const HaDiscoveryTopics& topics, std::string_view stream,
                                            const std::vector<std::string>& labels);
// The retained config messages of labels only (a label announced after the stream: seen for the first time).
std::vector<MqttMessage> HaDiscoveryLabelConfigs(const HaDiscoveryTopics& topics, std::string_view stream,
                                                 const std::vector<std::string>& labels);
// Empty retained messages on the same config topics: Home Assistant deletes the entities.
std::vector<MqttMessage> HaDiscoveryRemovals(const HaDiscoveryTopics& topics, std::string_view stream,
                                             const std::vector<std::string>& labels);

}  // namespace accel
