// The MQTT output of watched streams (docs/streams.md "MQTT and Home Assistant"), one per service, shared by
// every stream. Topics (stream and label names as MqttId, ha_discovery.h):
//   <prefix>/<stream>/events         each event's JSON (StreamEventJson), not retained
//   <prefix>/<stream>/<label>/count  the number tracked now, retained, sent when it changes
//   <prefix>/<stream>/snapshot       the latest annotated frame, JPEG, retained
//   <prefix>/status                  "online", retained; "offline" as the last will and at shutdown
// plus Home Assistant discovery configs under <discovery_prefix>/ when discovery is on: for a stream with
// targets, its targets; otherwise each label the first time it is counted (a stream of a model with 80
// labels does not announce 80 entities of which it may never see most).
//
// Threads: libmosquitto's own network thread (mosquitto_loop_start) connects, reconnects with exponential
// back-off and does all socket I/O; one thread of the sink's own hands queued messages to libmosquitto. The
// Publish* and Stream* methods only queue (a mutex held for a few instructions): they never wait for the
// network. While the broker is away, up to buffer_limit messages wait; beyond that the oldest is dropped and
// counted. Retained state (counts, snapshots) is coalesced: a newer value replaces a queued older one on the
// same topic. After every (re)connection the sink sends "online", the discovery configs and the current
// counts again, so a broker restarted without persistence gets its retained state back.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "core/status.h"
#include "streams/event_sink.h"

namespace accel {

struct MqttSinkOptions {
  // mqtt://[user[:password]@]host[:port] (port 1883 by default; user and password may be percent-encoded).
  // The password is used for the connection only: never logged, never in Stats().last_error.
  std::string url = "mqtt://localhost:1883";
  std::string client_id;  // "": accel-<hostname>-<pid>
  std::string topic_prefix = "accel";
  std::string discovery_prefix = "homeassistant";  // "": no Home Assistant discovery
  int qos = 1;                                     // 0, 1 or 2, for every message
  bool retain_events = false;  // events are a stream of facts, not a state: not retained unless asked
  size_t buffer_limit = 1000;  // messages waiting while the broker is away (at least 1)
  int keepalive_s = 30;
  int reconnect_min_s = 1;  // back-off between connection attempts: doubles from min to max
  int reconnect_max_s = 30;
};

// The broker address of an mqtt:// URL, for checks and display.
struct MqttUrl {
  std::string host;
  int port = 1883;
  std::string username;
  std::string password;
  std::string Display() const;  // host:port, never the credentials
};
// InvalidArgument naming what is wrong (scheme, host, port, encoding); mqtts:// is refused as unsupported.
StatusOr<MqttUrl> ParseMqttUrl(const std::string& url);

// InvalidArgument for a bad URL, qos, prefix (empty, or with '+', '#') or buffer_limit. The connection is
// made in the background: an unreachable broker is not an error here (Stats() shows it, and the sink keeps
// trying).
StatusOr<std::unique_ptr<EventSink>> MakeMqttSink(MqttSinkOptions options);

}  // namespace accel
