// The MQTT output against a real mosquitto broker started here on a free port, read back by a libmosquitto
// subscriber of the test's own.
#include "streams/mqtt_sink.h"

#include <gtest/gtest.h>
#include <mosquitto.h>

#include <filesystem>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>

#include "server_process.h"
#include "streams/ha_discovery.h"

namespace accel {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::ServerProcess;
using testing::TempDir;
using testing::WaitFor;

struct Received {
  std::string topic;
  std::string payload;
  bool retain;
};

class Broker {
 public:
  explicit Broker(const TempDir& dir) : dir_(dir), port_(testing::FreePort()) {
    // mosquitto started as root runs as the user "mosquitto": let it write its database here.
    std::filesystem::permissions(dir_.path(), std::filesystem::perms::all);
    // Persistence, so that a persistent subscriber keeps its queued messages across a broker restart.
    std::ofstream(dir_.path() + "/mosquitto.conf")
        << "listener " << port_ << " 127.0.0.1\nallow_anonymous true\npersistence true\npersistence_location "
        << dir_.path() << "/\nautosave_interval 0\n";
  }
  bool Start() {
    const std::string binary = testing::FindProgram({"mosquitto"});
    if (binary.empty()) return false;
    return process_.Start({binary, "-c", dir_.path() + "/mosquitto.conf"}, port_,
                          dir_.path() + "/broker.log");
  }
  void Stop() { process_.Stop(); }
  int port() const { return port_; }
  std::string url(const std::string& user_info = "") const {
    return "mqtt://" + user_info + "127.0.0.1:" + std::to_string(port_);
  }

 private:
  const TempDir& dir_;
  int port_;
  ServerProcess process_;
};

// Subscribes to everything (QoS 1) and keeps what arrives. `persistent`: a fixed client id and a session
// the broker keeps while the subscriber is away.
class Subscriber {
 public:
  Subscriber(int port, const std::string& id, bool persistent) {
    mosquitto_lib_init();
    mosq_ = mosquitto_new(id.c_str(), !persistent, this);
    mosquitto_connect_callback_set(mosq_, [](mosquitto* m, void* self, int rc) {
      if (rc == 0) mosquitto_subscribe(m, nullptr, "#", 1);
      static_cast<Subscriber*>(self)->connected_ = rc == 0;
    });
    mosquitto_subscribe_callback_set(mosq_, [](mosquitto*, void* self, int, int, const int*) {
      static_cast<Subscriber*>(self)->subscribed_ = true;
    });
    mosquitto_message_callback_set(mosq_, [](mosquitto*, void* self, const mosquitto_message* m) {
      auto* s = static_cast<Subscriber*>(self);
      std::lock_guard lock(s->mu_);
      s->messages_.push_back(
          {m->topic, std::string(static_cast<const char*>(m->payload), m->payloadlen), m->retain});
    });
    mosquitto_reconnect_delay_set(mosq_, 1, 1, false);
    mosquitto_connect_async(mosq_, "127.0.0.1", port, 30);
    mosquitto_loop_start(mosq_);
  }
  ~Subscriber() {
    mosquitto_disconnect(mosq_);
    mosquitto_loop_stop(mosq_, false);
    mosquitto_destroy(mosq_);
  }
  bool WaitSubscribed() {
    return testing::WaitFor([&] { return subscribed_.load(); }, seconds(10));
  }
  std::vector<Received> On(const std::string& topic) {
    std::lock_guard lock(mu_);
    std::vector<Received> out;
    for (const auto& m : messages_)
      if (m.topic == topic) out.push_back(m);
    return out;
  }
  bool WaitFor(const std::string& topic, size_t n = 1) {
    return testing::WaitFor([&] { return On(topic).size() >= n; }, seconds(15));
  }
  std::vector<Received> All() {
    std::lock_guard lock(mu_);
    return messages_;
  }

 private:
  mosquitto* mosq_ = nullptr;
  std::atomic<bool> connected_{false};
  std::atomic<bool> subscribed_{false};
  std::mutex mu_;
  std::vector<Received> messages_;
};

StreamEvent Event(StreamEventType type, std::uint64_t track_id, const std::string& label = "person") {
  StreamEvent e;
  e.type = type;
  e.stream = "Front Door";
  e.track_id = track_id;
  e.label = label;
  e.score = 0.9f;
  e.box = {10, 20, 110, 220};
  e.timestamp = 1'800'000'000.0 + track_id;
  return e;
}

TEST(MqttUrl, ParsesAndRefusesClearly) {
  auto u = ParseMqttUrl("mqtt://me:p%40ss@broker.lan:1884");
  ASSERT_TRUE(u.ok()) << u.status().message();
  EXPECT_EQ(u.value().host, "broker.lan");
  EXPECT_EQ(u.value().port, 1884);
  EXPECT_EQ(u.value().username, "me");
  EXPECT_EQ(u.value().password, "p@ss");
  EXPECT_EQ(u.value().Display(), "broker.lan:1884");
  EXPECT_EQ(ParseMqttUrl("mqtt://localhost").value().port, 1883);
  EXPECT_EQ(ParseMqttUrl("mqtt://[::1]:1900/").value().host, "::1");
  for (const char* bad : {"http://x", "mqtt://", "mqtt://host:0", "mqtt://host:99999", "mqtt://host:x",
                          "mqtt://host/topic", "mqtt://:pw@host", "mqtt://u%zz@host"}) {
    auto r = ParseMqttUrl(bad);
    EXPECT_FALSE(r.ok()) << bad;
  }
  auto tls = ParseMqttUrl("mqtts://host");
  ASSERT_FALSE(tls.ok());
  EXPECT_NE(tls.status().message().find("not supported"), std::string::npos);
  MqttSinkOptions o;
  o.qos = 3;
  EXPECT_FALSE(MakeMqttSink(o).ok());
  o = {};
  o.topic_prefix = "accel/#";
  EXPECT_FALSE(MakeMqttSink(o).ok());
}

TEST(MqttId, LowerCaseLettersDigitsAndUnderscores) {
  EXPECT_EQ(MqttId("Front Door"), "front_door");
  EXPECT_EQ(MqttId("cam-2 / garage"), "cam_2_garage");
  EXPECT_EQ(MqttId("traffic light"), "traffic_light");
  EXPECT_EQ(MqttId("+#/"), "_");
  EXPECT_EQ(MqttId("Été"), "t");
}

TEST(MqttSink, PublishesEventsCountsSnapshotsAndHomeAssistantDiscovery) {
  TempDir dir;
  Broker broker(dir);
  ASSERT_TRUE(broker.Start()) << "mosquitto did not start (scripts/setup --test installs it)";
  Subscriber live(broker.port(), "live", false);
  ASSERT_TRUE(live.WaitSubscribed());

  MqttSinkOptions options;
  options.url = broker.url("accel:s3cret-pw@");  // the broker allows anyone; the password must not leak
  options.client_id = "accel-test";
  auto made = MakeMqttSink(options);
  ASSERT_TRUE(made.ok()) << made.status().message();
  std::unique_ptr<EventSink> sink = std::move(made.value());
  EXPECT_EQ(sink->name(), "mqtt");
  // After connecting, the sink sends its state (status, and the discovery and counts of known streams): wait
  // for that to be done, so that nothing below is sent twice.
  ASSERT_TRUE(live.WaitFor("accel/status"));

  // Each count change waits for the one before to arrive: a newer count replaces a still queued older one
  // (retained state is coalesced), and this test wants to see each.
  sink->StreamAdded("Front Door", {"person", "car"});
  ASSERT_TRUE(live.WaitFor("accel/front_door/person/count", 1));
  sink->Publish(Event(StreamEventType::kStart, 1));
  StreamCounts counts{"Front Door", 1'800'000'001.0, {{"person", 1}, {"car", 0}}};
  sink->PublishCounts(counts);
  const std::string jpeg("\xff\xd8\xff\xe0\0\x10JFIF\0rest\xff\xd9", 16);
  sink->PublishSnapshot("Front Door", jpeg);
  ASSERT_TRUE(live.WaitFor("accel/front_door/person/count", 2));
  sink->Publish(Event(StreamEventType::kEnd, 1));
  counts.per_label["person"] = 0;
  sink->PublishCounts(counts);

  ASSERT_TRUE(live.WaitFor("accel/front_door/events", 2));
  auto events = live.On("accel/front_door/events");
  auto start = nlohmann::json::parse(events[0].payload);
  EXPECT_EQ(start["type"], "start");
  EXPECT_EQ(start["stream"], "Front Door");
  EXPECT_EQ(start["track_id"], 1);
  EXPECT_EQ(start["label"], "person");
  EXPECT_DOUBLE_EQ(start["box"]["x_max"].get<double>(), 110);
  EXPECT_EQ(nlohmann::json::parse(events[1].payload)["type"], "end");

  // The person count went 0 (announced) -> 1 -> 0; the car count was announced once and never changed.
  ASSERT_TRUE(live.WaitFor("accel/front_door/person/count", 3));
  std::vector<std::string> person;
  for (const auto& m : live.On("accel/front_door/person/count")) person.push_back(m.payload);
  EXPECT_EQ(person, (std::vector<std::string>{"0", "1", "0"}));
  ASSERT_TRUE(live.WaitFor("accel/front_door/snapshot"));
  EXPECT_EQ(live.On("accel/front_door/snapshot")[0].payload, jpeg);
  ASSERT_TRUE(live.WaitFor("accel/status"));
  EXPECT_EQ(live.On("accel/status")[0].payload, "online");
  EXPECT_EQ(live.On("accel/front_door/car/count").size(), 1u);

  // Discovery: well-formed configs with what Home Assistant needs.
  ASSERT_TRUE(live.WaitFor("homeassistant/binary_sensor/accel_front_door_person/config"));
  auto binary =
      nlohmann::json::parse(live.On("homeassistant/binary_sensor/accel_front_door_person/config")[0].payload);
  EXPECT_EQ(binary["unique_id"], "accel_front_door_person");
  EXPECT_EQ(binary["name"], "person");
  EXPECT_EQ(binary["device_class"], "occupancy");
  EXPECT_EQ(binary["state_topic"], "accel/front_door/person/count");
  EXPECT_EQ(binary["value_template"], "{{ 'ON' if (value | int(0)) > 0 else 'OFF' }}");
  EXPECT_EQ(binary["availability_topic"], "accel/status");
  EXPECT_EQ(binary["device"]["identifiers"], nlohmann::json::array({"accel_front_door"}));
  EXPECT_EQ(binary["device"]["name"], "Front Door");
  EXPECT_EQ(binary["device"]["manufacturer"], "Accel");
  ASSERT_TRUE(live.WaitFor("homeassistant/sensor/accel_front_door_car_count/config"));
  auto sensor =
      nlohmann::json::parse(live.On("homeassistant/sensor/accel_front_door_car_count/config")[0].payload);
  EXPECT_EQ(sensor["unique_id"], "accel_front_door_car_count");
  EXPECT_EQ(sensor["state_topic"], "accel/front_door/car/count");
  EXPECT_EQ(sensor["availability_topic"], "accel/status");
  EXPECT_EQ(sensor["device"]["manufacturer"], "Accel");
  ASSERT_TRUE(live.WaitFor("homeassistant/camera/accel_front_door/config"));
  EXPECT_EQ(
      nlohmann::json::parse(live.On("homeassistant/camera/accel_front_door/config")[0].payload)["topic"],
      "accel/front_door/snapshot");

  // What a client connecting later gets: the retained state, and no events.
  {
    Subscriber late(broker.port(), "late", false);
    ASSERT_TRUE(late.WaitFor("accel/front_door/snapshot"));
    ASSERT_TRUE(late.WaitFor("accel/front_door/person/count"));
    ASSERT_TRUE(late.WaitFor("homeassistant/sensor/accel_front_door_person_count/config"));
    EXPECT_TRUE(late.On("accel/front_door/person/count")[0].retain);
    EXPECT_EQ(late.On("accel/front_door/person/count")[0].payload, "0");
    EXPECT_TRUE(late.On("accel/front_door/snapshot")[0].retain);
    EXPECT_TRUE(late.On("accel/front_door/events").empty());
  }

  EventSinkStats stats = sink->Stats();
  EXPECT_TRUE(stats.connected);
  EXPECT_EQ(stats.dropped, 0u);
  EXPECT_GE(stats.published, 4u);
  EXPECT_EQ(stats.last_error, "");

  // Removal: empty retained configs (Home Assistant deletes the entities) and cleared retained state.
  sink->StreamRemoved("Front Door");
  ASSERT_TRUE(live.WaitFor("homeassistant/binary_sensor/accel_front_door_person/config", 2));
  EXPECT_EQ(live.On("homeassistant/binary_sensor/accel_front_door_person/config")[1].payload, "");
  ASSERT_TRUE(live.WaitFor("homeassistant/sensor/accel_front_door_car_count/config", 2));
  EXPECT_EQ(live.On("homeassistant/sensor/accel_front_door_car_count/config")[1].payload, "");
  ASSERT_TRUE(live.WaitFor("homeassistant/camera/accel_front_door/config", 2));

  // Shutdown says "offline" (retained), as the last will would.
  sink.reset();
  ASSERT_TRUE(live.WaitFor("accel/status", 2));
  EXPECT_EQ(live.On("accel/status").back().payload, "offline");
  for (const auto& m : live.All()) EXPECT_EQ(m.payload.find("s3cret"), std::string::npos) << m.topic;
}

// Discovery topics of the stream "Yard" that configure (non-empty payload) or delete (empty) a label.
std::vector<std::string> YardLabelConfigs(Subscriber& sub, bool deleting) {
  std::vector<std::string> out;
  for (const auto& m : sub.All()) {
    if (m.topic.rfind("homeassistant/", 0) != 0 || m.topic.find("accel_yard_") == std::string::npos) continue;
    if (m.payload.empty() == deleting) out.push_back(m.topic);
  }
  return out;
}

TEST(MqttSink, WithoutTargetsEachLabelIsAnnouncedWhenFirstCounted) {
  TempDir dir;
  Broker broker(dir);
  ASSERT_TRUE(broker.Start()) << "mosquitto did not start (scripts/setup --test installs it)";
  Subscriber live(broker.port(), "live", false);
  ASSERT_TRUE(live.WaitSubscribed());
  MqttSinkOptions options;
  options.url = broker.url();
  options.client_id = "accel-test";
  auto made = MakeMqttSink(options);
  ASSERT_TRUE(made.ok()) << made.status().message();
  std::unique_ptr<EventSink> sink = std::move(made.value());
  ASSERT_TRUE(live.WaitFor("accel/status"));

  // No targets: the camera only, no label entities and no counts yet.
  sink->StreamAdded("Yard", {});
  ASSERT_TRUE(live.WaitFor("homeassistant/camera/accel_yard/config"));
  sink->PublishSnapshot("Yard", "jpeg");  // a marker: what was sent before it has arrived when it has
  ASSERT_TRUE(live.WaitFor("accel/yard/snapshot"));
  EXPECT_TRUE(YardLabelConfigs(live, false).empty());
  for (const auto& m : live.All()) EXPECT_EQ(m.topic.find("/count"), std::string::npos) << m.topic;

  // A dog is counted: its binary sensor and count sensor are announced, before its first count.
  sink->PublishCounts({"Yard", 1'800'000'000.0, {{"dog", 1}}});
  ASSERT_TRUE(live.WaitFor("accel/yard/dog/count"));
  {
    const auto all = live.All();
    auto at = [&](const std::string& topic) {
      for (size_t i = 0; i < all.size(); ++i)
        if (all[i].topic == topic) return static_cast<long>(i);
      return -1L;
    };
    const long config = at("homeassistant/binary_sensor/accel_yard_dog/config");
    ASSERT_GE(config, 0);
    EXPECT_LT(config, at("accel/yard/dog/count"));
    ASSERT_GE(at("homeassistant/sensor/accel_yard_dog_count/config"), 0);
    auto binary = nlohmann::json::parse(all[config].payload);
    EXPECT_EQ(binary["state_topic"], "accel/yard/dog/count");
    EXPECT_EQ(binary["device_class"], "occupancy");
    EXPECT_EQ(binary["device"]["identifiers"], nlohmann::json::array({"accel_yard"}));
  }

  // The dog leaves (count 0, still announced) and a person comes: only the person is announced now.
  sink->PublishCounts({"Yard", 1'800'000'001.0, {{"dog", 0}, {"person", 1}}});
  ASSERT_TRUE(live.WaitFor("accel/yard/person/count"));
  ASSERT_TRUE(live.WaitFor("accel/yard/dog/count", 2));
  EXPECT_EQ(live.On("accel/yard/dog/count")[1].payload, "0");
  EXPECT_EQ(live.On("homeassistant/binary_sensor/accel_yard_dog/config").size(), 1u);
  EXPECT_EQ(live.On("homeassistant/binary_sensor/accel_yard_person/config").size(), 1u);
  EXPECT_EQ(YardLabelConfigs(live, false).size(), 4u);  // dog and person: a binary sensor and a count each

  // Replaced without targets: what was announced stays announced (sent again, never deleted).
  sink->StreamAdded("Yard", {});
  ASSERT_TRUE(live.WaitFor("homeassistant/binary_sensor/accel_yard_person/config", 2));
  ASSERT_TRUE(live.WaitFor("homeassistant/sensor/accel_yard_dog_count/config", 2));
  EXPECT_TRUE(YardLabelConfigs(live, true).empty());

  // Replaced with targets: exactly the targets; the labels learned before are deleted.
  sink->StreamAdded("Yard", {"car"});
  ASSERT_TRUE(live.WaitFor("homeassistant/binary_sensor/accel_yard_car/config"));
  ASSERT_TRUE(live.WaitFor("homeassistant/binary_sensor/accel_yard_dog/config", 3));
  EXPECT_EQ(live.On("homeassistant/binary_sensor/accel_yard_dog/config")[2].payload, "");
  ASSERT_TRUE(live.WaitFor("homeassistant/binary_sensor/accel_yard_person/config", 3));
  EXPECT_EQ(live.On("homeassistant/binary_sensor/accel_yard_person/config")[2].payload, "");

  // Removed: the car is deleted too.
  sink->StreamRemoved("Yard");
  ASSERT_TRUE(live.WaitFor("homeassistant/binary_sensor/accel_yard_car/config", 2));
  EXPECT_EQ(live.On("homeassistant/binary_sensor/accel_yard_car/config")[1].payload, "");
  ASSERT_TRUE(live.WaitFor("homeassistant/camera/accel_yard/config", 4));
  EXPECT_EQ(live.On("homeassistant/camera/accel_yard/config").back().payload, "");
}

TEST(MqttSink, BrokerAwayBuffersUpToTheBoundWithoutBlockingThenDelivers) {
  TempDir dir;
  Broker broker(dir);
  ASSERT_TRUE(broker.Start()) << "mosquitto did not start (scripts/setup --test installs it)";
  auto reader = std::make_unique<Subscriber>(broker.port(), "reader", true);
  ASSERT_TRUE(reader->WaitSubscribed());
  MqttSinkOptions options;
  options.url = broker.url("accel:s3cret-pw@");
  options.client_id = "accel-buffer-test";
  options.buffer_limit = 50;
  options.discovery_prefix = "";
  options.reconnect_min_s = 1;
  options.reconnect_max_s = 1;
  auto made = MakeMqttSink(options);
  ASSERT_TRUE(made.ok()) << made.status().message();
  std::unique_ptr<EventSink> sink = std::move(made.value());
  ASSERT_TRUE(WaitFor([&] { return sink->Stats().connected; }, seconds(10)));
  sink->Publish(Event(StreamEventType::kStart, 1));
  ASSERT_TRUE(reader->WaitFor("accel/front_door/events", 1));

  reader.reset();  // its session (and subscription) stays on the broker
  broker.Stop();
  ASSERT_TRUE(WaitFor([&] { return !sink->Stats().connected; }, seconds(10)));
  EXPECT_EQ(sink->Stats().last_error.find("s3cret"), std::string::npos);
  EXPECT_NE(sink->Stats().last_error, "");

  // 200 events while the broker is away: never blocked (the whole burst is quick even on a loaded
  // machine), the newest 50 kept, the other 150 dropped and counted.
  const auto begin = std::chrono::steady_clock::now();
  std::chrono::nanoseconds slowest{0};
  for (std::uint64_t id = 2; id <= 201; ++id) {
    const auto t0 = std::chrono::steady_clock::now();
    sink->Publish(Event(StreamEventType::kStart, id));
    slowest = std::max(slowest, std::chrono::steady_clock::now() - t0);
  }
  const auto burst = std::chrono::steady_clock::now() - begin;
  EXPECT_LT(burst, milliseconds(500));
  EXPECT_LT(slowest, milliseconds(100));
  EventSinkStats away = sink->Stats();
  EXPECT_FALSE(away.connected);
  EXPECT_EQ(away.dropped, 150u);
  EXPECT_EQ(away.buffered, 50u);

  ASSERT_TRUE(broker.Start());
  ASSERT_TRUE(WaitFor([&] { return sink->Stats().connected && sink->Stats().buffered == 0; }, seconds(15)));
  reader = std::make_unique<Subscriber>(broker.port(), "reader", true);
  // The reader gets the 50 kept events (ids 152..201), in order, and none of the dropped ones.
  ASSERT_TRUE(reader->WaitFor("accel/front_door/events", 50))
      << std::ifstream(dir.path() + "/broker.log").rdbuf();
  std::this_thread::sleep_for(milliseconds(200));  // anything extra would arrive with them
  auto got = reader->On("accel/front_door/events");
  ASSERT_EQ(got.size(), 50u);
  for (size_t i = 0; i < got.size(); ++i)
    EXPECT_EQ(nlohmann::json::parse(got[i].payload)["track_id"], 152 + i);
  EXPECT_EQ(sink->Stats().dropped, 150u);
}

}  // namespace
}  // namespace accel
