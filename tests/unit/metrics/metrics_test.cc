#include "metrics/metrics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <thread>
#include <vector>

#include "exposition_parser.h"

namespace accel {
namespace {

using testing::ParseExposition;

TEST(Counter, OnlyGoesUp) {
  Counter c;
  c.Increment();
  c.Increment(2.5);
  c.Increment(-10);
  c.Increment(std::nan(""));
  EXPECT_DOUBLE_EQ(c.Value(), 3.5);
}

TEST(Gauge, SetAndAdd) {
  Gauge g;
  g.Set(5);
  g.Add(-7);
  EXPECT_DOUBLE_EQ(g.Value(), -2);
}

TEST(Histogram, BucketsAreCumulativeWithLeSemantics) {
  Histogram h(std::make_shared<const std::vector<double>>(std::vector<double>{1, 2, 4}));
  for (double v : {0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 100.0}) h.Observe(v);
  h.Observe(std::nan(""));  // ignored
  Histogram::Snapshot s = h.Read();
  ASSERT_EQ(s.cumulative.size(), 4u);
  // 1.0 belongs to le=1 (upper bounds are inclusive), 2.0 to le=2, 4.0 to le=4.
  EXPECT_EQ(s.cumulative[0], 2u);
  EXPECT_EQ(s.cumulative[1], 4u);
  EXPECT_EQ(s.cumulative[2], 6u);
  EXPECT_EQ(s.cumulative[3], 7u);
  EXPECT_EQ(s.count, 7u);
  EXPECT_DOUBLE_EQ(s.sum, 0.5 + 1 + 1.5 + 2 + 3 + 4 + 100);
}

TEST(Buckets, Helpers) {
  EXPECT_EQ(ExponentialBuckets(1, 2, 4), (std::vector<double>{1, 2, 4, 8}));
  EXPECT_EQ(LinearBuckets(0.5, 0.5, 3), (std::vector<double>{0.5, 1, 1.5}));
}

TEST(Names, Validation) {
  EXPECT_TRUE(IsValidMetricName("accel_requests_total"));
  EXPECT_TRUE(IsValidMetricName("a:b_c9"));
  EXPECT_FALSE(IsValidMetricName("9abc"));
  EXPECT_FALSE(IsValidMetricName("a-b"));
  EXPECT_FALSE(IsValidMetricName(""));
  EXPECT_TRUE(IsValidLabelName("device"));
  EXPECT_FALSE(IsValidLabelName("__name__"));
  EXPECT_FALSE(IsValidLabelName("a:b"));
  EXPECT_FALSE(IsValidLabelName("1a"));
}

TEST(Family, SameLabelsSameChild) {
  MetricRegistry r;
  CounterFamily* f = r.AddCounter("t_total", "help", {"a", "b"});
  Counter* x = f->WithLabels({"1", "2"});
  EXPECT_EQ(f->WithLabels({"1", "2"}), x);
  EXPECT_NE(f->WithLabels({"12", ""}), x);  // no ambiguity from concatenation
  EXPECT_NE(f->WithLabels({"", "12"}), f->WithLabels({"12", ""}));
  EXPECT_EQ(f->child_count(), 3u);
}

TEST(Family, CapsLabelSets) {
  MetricRegistry r;
  CounterFamily* f = r.AddCounter("capped_total", "help", {"model"}, /*max_children=*/3);
  for (int i = 0; i < 10; ++i) f->WithLabels({"m" + std::to_string(i)})->Increment();
  EXPECT_EQ(f->child_count(), 4u);  // three real ones and the overflow child
  auto parsed = ParseExposition(r.Render());
  ASSERT_EQ(parsed.error, "");
  EXPECT_DOUBLE_EQ(parsed.Value("capped_total", {{"model", "_overflow"}}), 7);
}

TEST(Registry, RendersFamiliesInFormat) {
  MetricRegistry r;
  r.AddCounter("t_events_total", "Events seen.")->WithLabels({})->Increment(3);
  GaugeFamily* g = r.AddGauge("t_level", "A \"level\".", {"where"});
  g->WithLabels({"b"})->Set(2);
  g->WithLabels({"a\"\\\n"})->Set(-1.5);
  HistogramFamily* h = r.AddHistogram("t_duration_seconds", "Durations.", {"op"}, {0.1, 1});
  h->WithLabels({"read"})->Observe(0.05);
  h->WithLabels({"read"})->Observe(0.5);
  h->WithLabels({"read"})->Observe(5);
  r.AddGauge("t_unused", "Never given a child.", {"x"});  // labelled with no children: not rendered

  std::string text = r.Render();
  EXPECT_EQ(text,
            "# HELP t_events_total Events seen.\n"
            "# TYPE t_events_total counter\n"
            "t_events_total 3\n"
            "# HELP t_level A \"level\".\n"
            "# TYPE t_level gauge\n"
            "t_level{where=\"a\\\"\\\\\\n\"} -1.5\n"
            "t_level{where=\"b\"} 2\n"
            "# HELP t_duration_seconds Durations.\n"
            "# TYPE t_duration_seconds histogram\n"
            "t_duration_seconds_bucket{op=\"read\",le=\"0.1\"} 1\n"
            "t_duration_seconds_bucket{op=\"read\",le=\"1\"} 2\n"
            "t_duration_seconds_bucket{op=\"read\",le=\"+Inf\"} 3\n"
            "t_duration_seconds_sum{op=\"read\"} 5.55\n"
            "t_duration_seconds_count{op=\"read\"} 3\n");
  auto parsed = ParseExposition(text);
  ASSERT_EQ(parsed.error, "");
  EXPECT_EQ(parsed.Value("t_level", {{"where", "a\"\\\n"}}), -1.5);
}

TEST(Registry, CollectorsAppendAfterFamilies) {
  MetricRegistry r;
  r.AddCounter("c_total", "c")->WithLabels({})->Increment();
  r.AddCollector([](ExpositionWriter& out) {
    out.SingleSample("c_scrape_value", "from a collector", MetricType::kGauge, {{"k", "v"}}, 7);
  });
  auto parsed = ParseExposition(r.Render());
  ASSERT_EQ(parsed.error, "");
  EXPECT_EQ(parsed.Value("c_scrape_value", {{"k", "v"}}), 7);
  EXPECT_EQ(parsed.Value("c_total"), 1);
}

TEST(Concurrency, CountsFromManyThreadsAddUp) {
  MetricRegistry r;
  CounterFamily* counters = r.AddCounter("conc_total", "c", {"worker_group"});
  HistogramFamily* hist = r.AddHistogram("conc_seconds", "h", {"worker_group"}, {0.5, 1.5});
  constexpr int kThreads = 8;
  constexpr int kPerThread = 20000;
  std::vector<std::thread> threads;
  std::atomic<bool> stop_render{false};
  // A scraper runs throughout, as Prometheus would: rendering must not disturb the counts.
  std::thread scraper([&] {
    while (!stop_render.load()) {
      auto parsed = ParseExposition(r.Render());
      ASSERT_EQ(parsed.error, "");
    }
  });
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::string group = t % 2 == 0 ? "even" : "odd";
      for (int i = 0; i < kPerThread; ++i) {
        // Looked up every time on purpose: the lookup path is what is under test here.
        counters->WithLabels({group})->Increment();
        hist->WithLabels({group})->Observe(i % 2 == 0 ? 1.0 : 0.25);
      }
    });
  }
  for (auto& th : threads) th.join();
  stop_render = true;
  scraper.join();
  auto parsed = ParseExposition(r.Render());
  ASSERT_EQ(parsed.error, "");
  const double expected = kThreads / 2 * kPerThread;
  EXPECT_EQ(parsed.Value("conc_total", {{"worker_group", "even"}}), expected);
  EXPECT_EQ(parsed.Value("conc_total", {{"worker_group", "odd"}}), expected);
  EXPECT_EQ(parsed.Value("conc_seconds_count", {{"worker_group", "odd"}}), expected);
  EXPECT_EQ(parsed.Value("conc_seconds_bucket", {{"worker_group", "odd"}, {"le", "0.5"}}), expected / 2);
  EXPECT_EQ(parsed.Value("conc_seconds_sum", {{"worker_group", "even"}}), expected / 2 * 1.25);
}

}  // namespace
}  // namespace accel
