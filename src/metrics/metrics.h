// A small, dependency-free metrics library: Counter, Gauge, Histogram, labelled families of them, and a
// registry that renders everything in the Prometheus text exposition format 0.0.4.
//
// Threads: every method of every class here may be called from any thread at any time, including while
// another thread renders. The hot path of a child (Increment, Set, Observe) is lock-free (atomics only).
// Finding a labelled child takes a shared lock on its family (an exclusive one only the first time a label
// set appears), so callers on a hot path look a child up once and keep the pointer: a child lives as long
// as the registry that made it.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "metrics/exposition.h"

namespace accel {

// A monotonically increasing value (events, seconds spent). Starts at 0.
class Counter {
 public:
  // Negative or NaN amounts are ignored: a counter never goes down.
  void Increment(double amount = 1.0);
  double Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

// A value that goes up and down (queue depth, temperature).
class Gauge {
 public:
  void Set(double value) { value_.store(value, std::memory_order_relaxed); }
  void Add(double amount) { value_.fetch_add(amount, std::memory_order_relaxed); }
  double Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

// Observations counted into fixed buckets. `bounds` are the finite upper bounds, strictly increasing; the
// +Inf bucket is implicit. An observation v falls in the first bucket with v <= bound (Prometheus "le").
class Histogram {
 public:
  explicit Histogram(std::shared_ptr<const std::vector<double>> bounds);

  // NaN observations are ignored (they would poison _sum and belong to no bucket).
  void Observe(double value);

  struct Snapshot {
    std::vector<uint64_t> cumulative;  // one per finite bound, then +Inf; non-decreasing
    double sum = 0;
    uint64_t count = 0;  // == cumulative.back()
  };
  // Not an atomic snapshot of all buckets under concurrent Observe calls, but always self-consistent:
  // cumulative counts never decrease and count equals the +Inf bucket.
  Snapshot Read() const;
  const std::vector<double>& bounds() const { return *bounds_; }

 private:
  std::shared_ptr<const std::vector<double>> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> counts_;  // per bucket, not cumulative; bounds+1 entries
  std::atomic<double> sum_{0.0};
};

// Bucket helpers. Both return strictly increasing bounds.
std::vector<double> ExponentialBuckets(double start, double factor, int count);
std::vector<double> LinearBuckets(double start, double width, int count);

// Name rules of the exposition format. Metric: [a-zA-Z_:][a-zA-Z0-9_:]*; label: [a-zA-Z_][a-zA-Z0-9_]*
// and not starting with "__" (reserved).
bool IsValidMetricName(std::string_view name);
bool IsValidLabelName(std::string_view name);

class FamilyBase {
 public:
  FamilyBase(std::string name, std::string help, MetricType type, std::vector<std::string> label_names);
  virtual ~FamilyBase() = default;
  FamilyBase(const FamilyBase&) = delete;
  FamilyBase& operator=(const FamilyBase&) = delete;

  const std::string& name() const { return name_; }
  MetricType type() const { return type_; }
  const std::vector<std::string>& label_names() const { return label_names_; }
  // Writes HELP, TYPE and every child's samples, children ordered by label values. A family with no
  // children writes nothing (an unlabelled family always has its one child).
  virtual void Render(ExpositionWriter& out) const = 0;

 protected:
  std::string name_;
  std::string help_;
  MetricType type_;
  std::vector<std::string> label_names_;
};

// All children of one metric name, one per label-value set. The number of distinct label sets is capped
// (max_children): label values often come from clients (a model name), and an unbounded set would let a
// client grow memory and scrape size without limit. Past the cap, new label sets share one child whose
// every label value is "_overflow".
template <typename T>
class Family final : public FamilyBase {
 public:
  using Factory = std::function<std::unique_ptr<T>()>;
  Family(std::string name, std::string help, MetricType type, std::vector<std::string> label_names,
         Factory factory, size_t max_children);

  // The child for these label values, created on first use. values.size() must equal label_names().size()
  // (a programming error otherwise: asserts, and in release builds returns the overflow child).
  T* WithLabels(std::span<const std::string_view> values);
  T* WithLabels(std::initializer_list<std::string_view> values) {
    return WithLabels(std::span<const std::string_view>(values.begin(), values.size()));
  }
  size_t child_count() const;

  void Render(ExpositionWriter& out) const override;

 private:
  struct Child {
    std::vector<std::string> label_values;
    std::unique_ptr<T> metric;
  };
  T* Insert(std::string key, std::span<const std::string_view> values);

  Factory factory_;
  size_t max_children_;
  mutable std::shared_mutex mutex_;
  // Key: the label values, each length-prefixed, so no value can collide with another split.
  std::map<std::string, Child, std::less<>> children_;
  bool warned_overflow_ = false;
};

using CounterFamily = Family<Counter>;
using GaugeFamily = Family<Gauge>;
using HistogramFamily = Family<Histogram>;

// Owns families and scrape-time collectors. Registration is normally done once at start; it is thread-safe
// anyway. Registering an invalid or duplicate name is a programming error (asserts; in release builds the
// existing family of that name is returned when the type matches, else registration aborts the process).
class MetricRegistry {
 public:
  static constexpr size_t kDefaultMaxChildren = 2000;

  MetricRegistry() = default;
  MetricRegistry(const MetricRegistry&) = delete;
  MetricRegistry& operator=(const MetricRegistry&) = delete;

  CounterFamily* AddCounter(std::string name, std::string help, std::vector<std::string> label_names = {},
                            size_t max_children = kDefaultMaxChildren);
  GaugeFamily* AddGauge(std::string name, std::string help, std::vector<std::string> label_names = {},
                        size_t max_children = kDefaultMaxChildren);
  HistogramFamily* AddHistogram(std::string name, std::string help, std::vector<std::string> label_names,
                                std::vector<double> bounds, size_t max_children = kDefaultMaxChildren);

  // A function called on every Render, after the families, that writes its own families (values known only
  // at scrape time: device temperature, process memory). It must write each name at most once and not
  // reuse a registered family's name. Called with no registry lock held; may run concurrently with itself
  // when two scrapes overlap.
  using Collector = std::function<void(ExpositionWriter&)>;
  void AddCollector(Collector collector);

  // The whole exposition, families in registration order.
  std::string Render() const;

 private:
  FamilyBase* Find(std::string_view name) const;
  template <typename T>
  Family<T>* Add(std::string name, std::string help, MetricType type, std::vector<std::string> label_names,
                 typename Family<T>::Factory factory, size_t max_children);

  mutable std::shared_mutex mutex_;
  std::vector<std::unique_ptr<FamilyBase>> families_;
  std::vector<Collector> collectors_;
};

}  // namespace accel
