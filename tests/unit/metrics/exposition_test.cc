#include "metrics/exposition.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace accel {
namespace {

TEST(Exposition, EscapesLabelValues) {
  EXPECT_EQ(EscapeLabelValue("plain"), "plain");
  EXPECT_EQ(EscapeLabelValue("a\\b"), "a\\\\b");
  EXPECT_EQ(EscapeLabelValue("say \"hi\""), "say \\\"hi\\\"");
  EXPECT_EQ(EscapeLabelValue("two\nlines"), "two\\nlines");
  EXPECT_EQ(EscapeLabelValue("ünï"), "ünï");  // UTF-8 passes through
}

TEST(Exposition, EscapesHelpButNotQuotes) {
  EXPECT_EQ(EscapeHelp("a \"quoted\" \\ word\nnext"), "a \"quoted\" \\\\ word\\nnext");
}

TEST(Exposition, FormatsValues) {
  EXPECT_EQ(FormatValue(0), "0");
  EXPECT_EQ(FormatValue(1), "1");
  EXPECT_EQ(FormatValue(42), "42");
  EXPECT_EQ(FormatValue(0.1), "0.1");
  EXPECT_EQ(FormatValue(0.005), "0.005");
  EXPECT_EQ(FormatValue(-2.5), "-2.5");
  EXPECT_EQ(FormatValue(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(FormatValue(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(FormatValue(std::nan("")), "NaN");
  // Large integers stay exact (counters of a long-running server).
  EXPECT_EQ(std::stod(FormatValue(9007199254740992.0)), 9007199254740992.0);
  EXPECT_EQ(std::stod(FormatValue(1.0 / 3.0)), 1.0 / 3.0);
}

TEST(Exposition, WritesFamilyAndSamples) {
  ExpositionWriter w;
  w.BeginFamily("accel_x_total", "Things.\nMore", MetricType::kCounter);
  w.Sample("accel_x_total", {}, 3);
  w.Sample("accel_x_total", {{"a", "1"}, {"b", "q\""}}, 4.5);
  EXPECT_EQ(w.text(),
            "# HELP accel_x_total Things.\\nMore\n"
            "# TYPE accel_x_total counter\n"
            "accel_x_total 3\n"
            "accel_x_total{a=\"1\",b=\"q\\\"\"} 4.5\n");
}

TEST(Exposition, TypeNames) {
  EXPECT_EQ(MetricTypeName(MetricType::kCounter), "counter");
  EXPECT_EQ(MetricTypeName(MetricType::kGauge), "gauge");
  EXPECT_EQ(MetricTypeName(MetricType::kHistogram), "histogram");
}

}  // namespace
}  // namespace accel
