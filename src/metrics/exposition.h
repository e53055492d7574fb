// Writer for the Prometheus text exposition format, version 0.0.4
// (Content-Type: text/plain; version=0.0.4; charset=utf-8). It knows the line syntax and the escaping
// rules; it does not check that a family's samples are contiguous or that names are unique (the registry
// and collectors are responsible for that).
//
// Threads: one writer per render; not shared between threads.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace accel {

enum class MetricType { kCounter, kGauge, kHistogram };
std::string_view MetricTypeName(MetricType type);  // "counter", "gauge", "histogram"

inline constexpr std::string_view kExpositionContentType = "text/plain; version=0.0.4; charset=utf-8";

// Label value escaping: backslash, double quote and line feed become \\, \" and \n.
std::string EscapeLabelValue(std::string_view value);
// HELP text escaping: backslash and line feed become \\ and \n (quotes stay as they are).
std::string EscapeHelp(std::string_view help);
// Shortest text that reads back as the same double; "+Inf", "-Inf", "NaN" for the special values.
std::string FormatValue(double value);

using LabelPairs = std::vector<std::pair<std::string_view, std::string_view>>;

class ExpositionWriter {
 public:
  // "# HELP name help" and "# TYPE name type". Call once per family, before its samples.
  void BeginFamily(std::string_view name, std::string_view help, MetricType type);
  // `name{l1="v1",...} value`; no braces when there are no labels.
  void Sample(std::string_view name, const LabelPairs& labels, double value);
  // Shorthand for a family with exactly one sample.
  void SingleSample(std::string_view name, std::string_view help, MetricType type, const LabelPairs& labels,
                    double value);

  const std::string& text() const { return out_; }
  std::string Take() { return std::move(out_); }

 private:
  std::string out_;
};

}  // namespace accel
