#include "streams/stream_config.h"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include "streams/frame_source.h"

namespace accel {
namespace {

using json = nlohmann::json;

TEST(RedactUrl, HidesPasswordsAndTokens) {
  EXPECT_EQ(RedactUrl("rtsp://admin:secret@10.0.0.5:554/stream1"), "rtsp://admin:***@10.0.0.5:554/stream1");
  EXPECT_EQ(RedactUrl("https://token123@cam.example/live.m3u8"), "https://***@cam.example/live.m3u8");
  EXPECT_EQ(RedactUrl("rtsp://10.0.0.5/stream"), "rtsp://10.0.0.5/stream");
  EXPECT_EQ(RedactUrl("/videos/a@b.mp4"), "/videos/a@b.mp4");
  // An '@' in the path is not userinfo.
  EXPECT_EQ(RedactUrl("http://host/a@b"), "http://host/a@b");
  EXPECT_EQ(RedactUrl("rtsp://u:p@ss@host/x"), "rtsp://u:***@host/x");
}

TEST(RedactUrl, InFreeText) {
  EXPECT_EQ(RedactUrlsInText("Connection to rtsp://admin:secret@cam:554/s failed: refused"),
            "Connection to rtsp://admin:***@cam:554/s failed: refused");
  EXPECT_EQ(RedactUrlsInText("'http://u:p@h/x' and https://a:b@c/"),
            "'http://u:***@h/x' and https://a:***@c/");
}

TEST(SourceKind, FromUrl) {
  EXPECT_EQ(SourceKindOf("rtsp://h/x"), "rtsp");
  EXPECT_EQ(SourceKindOf("RTSPS://h/x"), "rtsp");
  EXPECT_EQ(SourceKindOf("https://h/x.m3u8"), "http");
  EXPECT_EQ(SourceKindOf("file:///v/a.mp4"), "file");
  EXPECT_EQ(SourceKindOf("/v/a.mp4"), "file");
  EXPECT_EQ(SourceKindOf("/dev/video0"), "v4l2");
  EXPECT_EQ(SourceKindOf("ftp://h/x"), "");
  EXPECT_EQ(SourceKindOf("concat:a|b"), "file");
}

StreamValidation Validation() {
  StreamValidation v;
  v.model_exists = [](const std::string& m) { return m.empty() || m == "yolox-nano"; };
  v.engines = {"cpu", "sim"};
  return v;
}

StatusOr<StreamConfig> Parse(const std::string& text) {
  auto config = StreamConfigFromJson(json::parse(text));
  if (!config.ok()) return config.status();
  ACCEL_RETURN_IF_ERROR(ValidateStreamConfig(*config, Validation()));
  return config;
}

TEST(StreamConfig, ValidStreamWithDefaults) {
  auto c = Parse(R"({"name": "front-door_1", "url": "rtsp://u:p@cam/s"})");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->fps, 5);
  EXPECT_EQ(c->engine, "auto");
  EXPECT_FALSE(c->outputs.mqtt);
  EXPECT_EQ(StreamConfigToJson(*c, true)["url"], "rtsp://u:***@cam/s");
  EXPECT_EQ(StreamConfigToJson(*c, false)["url"], "rtsp://u:p@cam/s");
}

TEST(StreamConfig, EveryField) {
  auto c = Parse(R"({"name": "yard", "url": "/v/a.mp4", "model": "yolox-nano", "engine": "cpu", "fps": 2.5,
    "threshold": 0.6, "targets": ["person", "car"], "loop": true,
    "zones": [{"name": "drive", "points": [[0, 0], [100, 0], [100, 50]]}],
    "outputs": {"mqtt": true, "redis": false},
    "tracker": {"min_hits": 2, "max_age_s": 1.5, "iou_threshold": 0.2, "update_interval_s": 5}})");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->fps, 2.5);
  EXPECT_FLOAT_EQ(c->threshold, 0.6f);
  ASSERT_EQ(c->zones.size(), 1u);
  EXPECT_EQ(c->zones[0].polygon.size(), 3u);
  EXPECT_TRUE(c->outputs.mqtt);
  EXPECT_EQ(c->tracker.min_hits, 2);
  EXPECT_EQ(c->tracker.update_interval_s, 5);
  // Round trip.
  auto again = StreamConfigFromJson(StreamConfigToJson(*c, false));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(StreamConfigToJson(*again, false), StreamConfigToJson(*c, false));
}

TEST(StreamConfig, ClearErrors) {
  struct Case {
    const char* body;
    const char* expected;
  };
  const Case cases[] = {
      {R"({"url": "rtsp://h/s"})", "'name'"},
      {R"({"name": "Front Door", "url": "rtsp://h/s"})", "'name'"},
      {R"({"name": "a", "url": "ftp://h/s"})", "'url'"},
      {R"({"name": "a"})", "'url' is required"},
      {R"({"name": "a", "url": "rtsp://h/s", "fps": 0})", "'fps'"},
      {R"({"name": "a", "url": "rtsp://h/s", "fps": 31})", "'fps'"},
      {R"({"name": "a", "url": "rtsp://h/s", "fps": "5"})", "'fps' must be a number"},
      {R"({"name": "a", "url": "rtsp://h/s", "threshold": 1.5})", "'threshold'"},
      {R"({"name": "a", "url": "rtsp://h/s", "model": "nope"})", "model 'nope'"},
      {R"({"name": "a", "url": "rtsp://h/s", "engine": "tpu"})", "'engine'"},
      {R"({"name": "a", "url": "rtsp://h/s", "zones": [{"name": "z", "points": [[0,0],[1,1]]}]})",
       "at least 3 points"},
      {R"({"name": "a", "url": "rtsp://h/s", "zones": [{"name": "z", "points": [[0,"x"],[1,1],[2,2]]}]})",
       "zones[0].points"},
      {R"({"name": "a", "url": "rtsp://h/s", "colour": "red"})", "unknown field 'colour'"},
      {R"({"name": "a", "url": "rtsp://h/s", "tracker": {"min_hits": 0}})", "min_hits"},
      {R"({"name": "a", "url": "rtsp://h/s", "tracker": {"iou_threshold": 0}})", "iou_threshold"},
      {R"({"name": "a", "url": "rtsp://h/s", "outputs": {"mqtt": "yes"}})", "outputs.mqtt"},
      {R"({"name": "a", "url": "rtsp://h/s", "hwaccel": "opencl"})", "hwaccel"},
      {R"([1, 2])", "JSON object"},
  };
  for (const Case& c : cases) {
    auto result = Parse(c.body);
    ASSERT_FALSE(result.ok()) << c.body;
    EXPECT_EQ(result.status().code(), StatusCode::kInvalidArgument) << c.body;
    EXPECT_NE(result.status().message().find(c.expected), std::string::npos)
        << c.body << " -> " << result.status().message();
  }
}

TEST(StreamConfig, LimitsOnCounts) {
  json zones = json::array();
  for (int i = 0; i < kMaxZonesPerStream + 1; ++i)
    zones.push_back({{"name", "z" + std::to_string(i)}, {"points", {{0, 0}, {1, 0}, {1, 1}}}});
  json body = {{"name", "a"}, {"url", "rtsp://h/s"}, {"zones", zones}};
  auto c = StreamConfigFromJson(body);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("at most 16 zones"), std::string::npos);
}

TEST(StreamConfig, FromYamlKeepsTypes) {
  YAML::Node node = YAML::Load(R"(
name: "123"
url: rtsp://cam/s
fps: 2
loop: true
targets: [person]
zones:
  - name: door
    points: [[0, 0], [10, 0], [10, 10]]
)");
  auto c = StreamConfigFromJson(YamlToJson(node));
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->name, "123");
  EXPECT_EQ(c->fps, 2);
  EXPECT_TRUE(c->loop);
  ASSERT_EQ(c->zones.size(), 1u);
  EXPECT_TRUE(ValidateStreamConfig(*c, Validation()).ok());
}

}  // namespace
}  // namespace accel
