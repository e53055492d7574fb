// Every metric the Grafana dashboard queries must exist in a scrape: a dashboard panel on a misspelt or
// renamed metric shows "No data" forever and nobody notices. This reads the shipped dashboard JSON.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <string>

#include "exposition_parser.h"
#include "metrics/accel_metrics.h"
#include "streams/stream_manager.h"

namespace accel {
namespace {

const char* kDashboardPath = ACCEL_SOURCE_DIR "/deploy/grafana/accel-dashboard.json";

void CollectExpressions(const nlohmann::json& node, std::vector<std::string>& out) {
  if (node.is_object()) {
    for (auto it = node.begin(); it != node.end(); ++it) {
      if (it.key() == "expr" && it->is_string()) out.push_back(it->get<std::string>());
      // Template variable queries also name metrics: label_values(accel_x, label).
      if (it.key() == "query" && it->is_string()) out.push_back(it->get<std::string>());
      CollectExpressions(*it, out);
    }
  } else if (node.is_array()) {
    for (const auto& child : node) CollectExpressions(child, out);
  }
}

std::string FamilyName(std::string name) {
  for (const std::string suffix : {"_bucket", "_sum", "_count"}) {
    if (name.ends_with(suffix)) return name.substr(0, name.size() - suffix.size());
  }
  return name;
}

nlohmann::json LoadDashboard() {
  std::ifstream in(kDashboardPath);
  EXPECT_TRUE(in.good()) << kDashboardPath;
  return nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
}

TEST(GrafanaDashboard, IsImportable) {
  nlohmann::json d = LoadDashboard();
  ASSERT_FALSE(d.is_discarded()) << "not valid JSON: " << kDashboardPath;
  EXPECT_GE(d.value("schemaVersion", 0), 36);
  ASSERT_TRUE(d.contains("__inputs"));
  bool has_input = false;
  for (const auto& input : d["__inputs"]) {
    has_input |= input.value("name", "") == "DS_PROMETHEUS" && input.value("pluginId", "") == "prometheus";
  }
  EXPECT_TRUE(has_input);
  std::set<int> ids;
  for (const auto& p : d["panels"]) {
    EXPECT_TRUE(ids.insert(p.value("id", -1)).second) << "duplicate panel id " << p.value("id", -1);
    if (p.value("type", "") == "row") continue;
    EXPECT_EQ(p["datasource"].value("uid", ""), "${DS_PROMETHEUS}") << p.value("title", "");
    EXPECT_FALSE(p["targets"].empty()) << p.value("title", "");
  }
}

TEST(GrafanaDashboard, EveryQueriedMetricExists) {
  nlohmann::json d = LoadDashboard();
  ASSERT_FALSE(d.is_discarded());
  std::vector<std::string> expressions;
  CollectExpressions(d, expressions);
  ASSERT_GT(expressions.size(), 5u);

  std::set<std::string> queried;
  std::regex metric_re("accel_[a-z_]+");
  for (const auto& e : expressions) {
    for (auto it = std::sregex_iterator(e.begin(), e.end(), metric_re); it != std::sregex_iterator(); ++it) {
      queried.insert(FamilyName(it->str()));
    }
  }
  // The panels the issue asks for must be there.
  for (const char* required :
       {"accel_inferences_total", "accel_request_duration_seconds", "accel_queue_depth",
        "accel_requests_total", "accel_device_health_state", "accel_batch_size", "accel_cache_hits_total",
        "accel_stream_state", "accel_stream_detection_fps", "accel_stream_frames_dropped_total",
        "accel_stream_frame_to_event_seconds"}) {
    EXPECT_TRUE(queried.count(required)) << "dashboard does not query " << required;
  }

  AccelMetrics m;
  m.RecordRequest("ai", "yolox-nano", "cpu:0", 200, 0.01);
  m.RecordRequest("ai", "yolox-nano", "cpu:0", 500, 0.01);
  m.RecordInference("yolox-nano", "cpu:0", "cpu", false, 0.001, 0.01);
  m.RecordBatch("yolox-nano", "cpu:0", "cpu", false, 1);
  m.EnableCacheMetrics();
  m.SetDeviceSnapshotProvider([] {
    return std::vector<DeviceGaugeSnapshot>{{.device = "gpu:0",
                                             .engine = "nvidia",
                                             .temperature_c = 40,
                                             .power_w = 70,
                                             .utilization_percent = 50,
                                             .memory_used_bytes = 1,
                                             .memory_total_bytes = 2}};
  });
  // The per-stream families (docs/streams.md, Metrics) are registered by the stream manager, as in serve.
  StreamManagerOptions stream_options;
  stream_options.metrics = &m.registry();
  StreamManager streams(stream_options);
  // Its two latency histograms are labelled by stream and so render nothing until a running stream
  // observes them; integration.dashboard checks them on a real scrape with a stream. Here their names
  // must at least be spelt as the stream manager registers them.
  const std::set<std::string> stream_histograms = {"accel_stream_frame_to_event_seconds",
                                                   "accel_stream_detection_latency_seconds"};
  auto scrape = testing::ParseExposition(m.Render());
  ASSERT_EQ(scrape.error, "");
  for (const auto& name : queried) {
    if (stream_histograms.count(name)) continue;
    EXPECT_TRUE(scrape.types.count(name)) << "dashboard queries " << name << ", which no scrape contains";
  }
  for (const auto& name : stream_histograms) {
    EXPECT_TRUE(queried.count(name)) << "dashboard does not query " << name;
  }
}

}  // namespace
}  // namespace accel
