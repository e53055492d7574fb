#include "metrics/accel_metrics.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include "exposition_parser.h"

namespace accel {
namespace {

using testing::ParseExposition;

// One of every kind of event, so that every family the class can expose has samples.
void RecordOneOfEach(AccelMetrics& m) {
  m.RecordRequest("ai", "yolox-nano", "cpu:0", 200, 0.042);
  m.RecordRequest("deepstack", "yolox-nano", "sim:hailo-a", 503, 0.002);
  m.RecordRequest("ai", "unknown", "", 404, 0.0003);
  m.RecordInference("yolox-nano", "cpu:0", "cpu", false, 0.001, 0.037);
  m.RecordInference("yolox-nano", "sim:hailo-a", "sim", true, 0.0002, 0.004);
  m.RecordBatch("yolox-nano", "cpu:0", "cpu", false, 1);
  m.RecordBatch("yolox-nano", "sim:hailo-a", "sim", true, 8);
  m.RecordCacheLookup("memory");
  m.RecordCacheLookup("miss");
  m.RecordCacheLookup("bypass");
  m.RecordCacheLevelLatency("redis", 0.0002);
  m.RecordCacheError("timeout");
  m.RecordCacheEvictions(2);
  m.SetCacheMemory(4096, 3);
  m.SetDeviceSnapshotProvider([] {
    DeviceGaugeSnapshot cpu{.device = "cpu:0", .engine = "cpu", .queue_depth = 2, .in_flight = 1};
    DeviceGaugeSnapshot sim{.device = "sim:hailo-a",
                            .engine = "sim",
                            .simulated = true,
                            .health_state = 2,
                            .temperature_c = 51.5,
                            .power_w = 2.5,
                            .utilization_percent = 40,
                            .memory_used_bytes = 1e6,
                            .memory_total_bytes = 4e6};
    return std::vector<DeviceGaugeSnapshot>{cpu, sim};
  });
}

TEST(AccelMetrics, OutcomeFromStatus) {
  EXPECT_EQ(RequestOutcome(200), "success");
  EXPECT_EQ(RequestOutcome(304), "success");
  EXPECT_EQ(RequestOutcome(400), "client_error");
  EXPECT_EQ(RequestOutcome(499), "client_error");
  EXPECT_EQ(RequestOutcome(500), "server_error");
  EXPECT_EQ(RequestOutcome(503), "server_error");
  EXPECT_EQ(RequestOutcome(0), "server_error");
}

TEST(AccelMetrics, RecordsRequestsByOutcome) {
  AccelMetrics m;
  RecordOneOfEach(m);
  m.RecordRequest("ai", "yolox-nano", "cpu:0", 200, 0.01);
  auto p = ParseExposition(m.Render());
  ASSERT_EQ(p.error, "");
  EXPECT_EQ(p.types["accel_requests_total"], "counter");
  EXPECT_EQ(p.Value("accel_requests_total",
                    {{"api", "ai"}, {"model", "yolox-nano"}, {"device", "cpu:0"}, {"outcome", "success"}}),
            2);
  // Error outcomes of a seen series are present at 0 so that error-rate queries read 0, not "no data".
  EXPECT_EQ(
      p.Value("accel_requests_total",
              {{"api", "ai"}, {"model", "yolox-nano"}, {"device", "cpu:0"}, {"outcome", "server_error"}}),
      0);
  EXPECT_EQ(p.Value("accel_requests_total", {{"api", "deepstack"}, {"outcome", "server_error"}}), 1);
  EXPECT_EQ(p.Value("accel_requests_total", {{"model", "unknown"}, {"outcome", "client_error"}}), 1);
  EXPECT_EQ(p.types["accel_request_duration_seconds"], "histogram");
  EXPECT_EQ(p.Value("accel_request_duration_seconds_count", {{"api", "ai"}, {"model", "yolox-nano"}}), 2);
  EXPECT_NEAR(p.Value("accel_request_duration_seconds_sum", {{"api", "ai"}, {"model", "yolox-nano"}}), 0.052,
              1e-12);
  EXPECT_EQ(p.Value("accel_request_duration_seconds_bucket",
                    {{"api", "ai"}, {"model", "yolox-nano"}, {"le", "0.025"}}),
            1);
  EXPECT_EQ(p.Value("accel_request_duration_seconds_bucket",
                    {{"api", "ai"}, {"model", "yolox-nano"}, {"le", "+Inf"}}),
            2);

  AccelMetrics::Summary s = m.Summarize();
  EXPECT_EQ(s.requests_total, 4u);
  EXPECT_EQ(s.errors_total, 2u);
  EXPECT_EQ(s.window.requests, 4u);
}

TEST(AccelMetrics, InferencesBatchesAndSimulationLabel) {
  AccelMetrics m;
  RecordOneOfEach(m);
  for (int i = 0; i < 3; ++i) m.RecordBatch("yolox-nano", "sim:hailo-a", "sim", true, 3);
  auto p = ParseExposition(m.Render());
  ASSERT_EQ(p.error, "");
  EXPECT_EQ(p.Value("accel_inferences_total", {{"device", "sim:hailo-a"}, {"simulated", "true"}}), 1);
  EXPECT_EQ(p.Value("accel_inferences_total", {{"device", "cpu:0"}, {"simulated", "false"}}), 1);
  EXPECT_EQ(p.Value("accel_executions_total", {{"device", "sim:hailo-a"}}), 4);
  EXPECT_EQ(p.Value("accel_batch_size_bucket", {{"device", "sim:hailo-a"}, {"le", "2"}}), 0);
  EXPECT_EQ(p.Value("accel_batch_size_bucket", {{"device", "sim:hailo-a"}, {"le", "4"}}), 3);
  EXPECT_EQ(p.Value("accel_batch_size_bucket", {{"device", "sim:hailo-a"}, {"le", "8"}}), 4);
  EXPECT_EQ(p.Value("accel_batch_size_sum", {{"device", "sim:hailo-a"}}), 17);
  EXPECT_EQ(p.Value("accel_queue_duration_seconds_count", {{"device", "cpu:0"}}), 1);
  EXPECT_NEAR(p.Value("accel_compute_duration_seconds_sum", {{"device", "cpu:0"}}), 0.037, 1e-12);
}

TEST(AccelMetrics, DeviceGaugesOmitUnknownFigures) {
  AccelMetrics m;
  RecordOneOfEach(m);
  auto p = ParseExposition(m.Render());
  ASSERT_EQ(p.error, "");
  EXPECT_EQ(p.Value("accel_device_health_state", {{"device", "sim:hailo-a"}, {"simulated", "true"}}), 2);
  EXPECT_EQ(p.Value("accel_device_up", {{"device", "sim:hailo-a"}}), 0);
  EXPECT_EQ(p.Value("accel_device_up", {{"device", "cpu:0"}}), 1);
  EXPECT_EQ(p.Value("accel_queue_depth", {{"device", "cpu:0"}, {"engine", "cpu"}}), 2);
  EXPECT_EQ(p.Value("accel_inflight_requests", {{"device", "cpu:0"}}), 1);
  EXPECT_EQ(p.Value("accel_device_temperature_celsius", {{"device", "sim:hailo-a"}}), 51.5);
  EXPECT_EQ(p.Value("accel_device_utilization_ratio", {{"device", "sim:hailo-a"}}), 0.4);
  EXPECT_EQ(p.Value("accel_device_memory_total_bytes", {{"device", "sim:hailo-a"}}), 4e6);
  // The CPU device reported no temperature: no series rather than a made-up value.
  EXPECT_EQ(p.Count("accel_device_temperature_celsius"), 1u);
  EXPECT_EQ(p.Count("accel_device_power_watts"), 1u);
  EXPECT_EQ(p.Count("accel_device_health_state"), 2u);
}

TEST(AccelMetrics, CacheMetricsOnlyOnceACacheExists) {
  AccelMetrics m;
  auto before = ParseExposition(m.Render());
  ASSERT_EQ(before.error, "");
  EXPECT_EQ(before.types.count("accel_cache_hits_total"), 0u);
  m.EnableCacheMetrics();
  auto enabled = ParseExposition(m.Render());
  EXPECT_EQ(enabled.Value("accel_cache_hits_total", {{"level", "memory"}}), 0);
  EXPECT_EQ(enabled.Value("accel_cache_hits_total", {{"level", "redis"}}), 0);
  EXPECT_EQ(enabled.Value("accel_cache_misses_total"), 0);
  m.RecordCacheLookup("memory");
  m.RecordCacheLookup("memory");
  m.RecordCacheLookup("inflight");
  m.RecordCacheLookup("miss");
  m.RecordCacheLookup("bypass");
  m.RecordCacheError("timeout");
  m.RecordCacheEvictions(2);
  m.SetCacheMemory(4096, 3);
  m.RecordCacheLevelLatency("redis", 0.0002);
  auto after = ParseExposition(m.Render());
  ASSERT_EQ(after.error, "");
  EXPECT_EQ(after.Value("accel_cache_hits_total", {{"level", "memory"}}), 2);
  EXPECT_EQ(after.Value("accel_cache_hits_total", {{"level", "inflight"}}), 1);
  EXPECT_EQ(after.Value("accel_cache_misses_total"), 1);
  EXPECT_EQ(after.Value("accel_cache_bypass_total"), 1);
  EXPECT_EQ(after.Value("accel_cache_errors_total", {{"kind", "timeout"}}), 1);
  EXPECT_EQ(after.Value("accel_cache_evictions_total"), 2);
  EXPECT_EQ(after.Value("accel_cache_bytes"), 4096);
  EXPECT_EQ(after.Value("accel_cache_entries"), 3);
  EXPECT_EQ(after.Value("accel_cache_lookup_duration_seconds_count", {{"level", "redis"}}), 1);
}

TEST(AccelMetrics, BuildInfoAndProcess) {
  AccelMetrics::Options options;
  options.version = "9.8.7";
  AccelMetrics m(options);
  auto p = ParseExposition(m.Render());
  ASSERT_EQ(p.error, "");
  EXPECT_EQ(p.Value("accel_build_info", {{"version", "9.8.7"}}), 1);
  double start = p.Value("accel_process_start_time_seconds");
  double now = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  EXPECT_GT(start, now - 24 * 3600.0 * 365);
  EXPECT_LE(start, now + 1);
  EXPECT_GT(p.Value("accel_process_resident_memory_bytes"), 1e5);
  EXPECT_GE(p.Value("accel_process_cpu_seconds_total"), 0);
  EXPECT_EQ(p.types["accel_process_cpu_seconds_total"], "counter");
  // Default version comes from the CMake project.
  AccelMetrics defaults;
  auto d = ParseExposition(defaults.Render());
  ASSERT_EQ(d.Count("accel_build_info"), 1u);
  for (const auto& s : d.samples) {
    if (s.name == "accel_build_info") {
      EXPECT_NE(s.labels.at("version"), "");
    }
  }
}

TEST(AccelMetrics, EveryNameFollowsConventions) {
  AccelMetrics m;
  RecordOneOfEach(m);
  auto p = ParseExposition(m.Render());
  ASSERT_EQ(p.error, "");
  ASSERT_GT(p.types.size(), 20u);
  for (const auto& [name, type] : p.types) {
    EXPECT_TRUE(name.starts_with("accel_")) << name;
    EXPECT_EQ(type == "counter", name.ends_with("_total")) << name << " " << type;
    EXPECT_FALSE(p.help[name].empty()) << name;
  }
}

TEST(AccelMetrics, ConcurrentRecordingAddsUp) {
  AccelMetrics m;
  constexpr int kThreads = 6;
  constexpr int kPerThread = 5000;
  std::atomic<bool> done{false};
  std::thread scraper([&] {
    while (!done.load()) ASSERT_EQ(ParseExposition(m.Render()).error, "");
  });
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::string device = "sim:" + std::to_string(t % 3);
      for (int i = 0; i < kPerThread; ++i) {
        m.RecordRequest("ai", "yolox-nano", device, i % 10 == 0 ? 500 : 200, 0.001);
        m.RecordInference("yolox-nano", device, "sim", true, 0.0001, 0.001);
        m.RecordBatch("yolox-nano", device, "sim", true, 2);
      }
    });
  }
  for (auto& th : threads) th.join();
  done = true;
  scraper.join();
  auto p = ParseExposition(m.Render());
  ASSERT_EQ(p.error, "");
  double success = 0, errors = 0, inferences = 0;
  for (const auto& s : p.samples) {
    if (s.name == "accel_requests_total") (s.labels.at("outcome") == "success" ? success : errors) += s.value;
    if (s.name == "accel_inferences_total") inferences += s.value;
  }
  EXPECT_EQ(success + errors, kThreads * kPerThread);
  EXPECT_EQ(errors, kThreads * kPerThread / 10);
  EXPECT_EQ(inferences, kThreads * kPerThread);
  EXPECT_EQ(p.Value("accel_batch_size_count", {{"device", "sim:0"}}), 2 * kPerThread);
  EXPECT_EQ(m.Summarize().requests_total, static_cast<uint64_t>(kThreads * kPerThread));
}

// promtool (Debian package `prometheus`) is the reference checker: it parses the text with Prometheus' own
// parser and lints names (units, _total suffixes, HELP). Any complaint fails the test.
TEST(AccelMetrics, PromtoolCheckMetricsPasses) {
  if (std::system("command -v promtool > /dev/null 2>&1") != 0) {
    GTEST_SKIP() << "promtool not on PATH (apt-get install -y prometheus)";
  }
  AccelMetrics m;
  RecordOneOfEach(m);
  // A label value with every character that needs escaping.
  m.RecordRequest("ai", "odd \"model\"\\name\nx", "cpu:0", 200, 0.01);
  auto dir =
      std::filesystem::temp_directory_path() / ("accel_metrics_promtool_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto input = dir / "scrape.txt";
  auto report = dir / "promtool.out";
  {
    std::ofstream f(input);
    f << m.Render();
  }
  std::string command = "promtool check metrics < '" + input.string() + "' > '" + report.string() + "' 2>&1";
  int rc = std::system(command.c_str());
  std::ifstream r(report);
  std::string output((std::istreambuf_iterator<char>(r)), std::istreambuf_iterator<char>());
  std::filesystem::remove_all(dir);
  EXPECT_EQ(rc, 0) << output;
  EXPECT_EQ(output, "") << output;
}

}  // namespace
}  // namespace accel
