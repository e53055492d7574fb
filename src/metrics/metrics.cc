#include "metrics/metrics.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstdlib>
#include <mutex>

#include "core/logging.h"

namespace accel {

void Counter::Increment(double amount) {
  if (!(amount > 0)) return;  // also rejects NaN
  value_.fetch_add(amount, std::memory_order_relaxed);
}

Histogram::Histogram(std::shared_ptr<const std::vector<double>> bounds)
    : bounds_(std::move(bounds)), counts_(new std::atomic<uint64_t>[bounds_->size() + 1]) {
  for (size_t i = 0; i <= bounds_->size(); ++i) counts_[i].store(0, std::memory_order_relaxed);
}

void Histogram::Observe(double value) {
  if (std::isnan(value)) return;
  const auto& b = *bounds_;
  size_t index = std::lower_bound(b.begin(), b.end(), value) - b.begin();
  counts_[index].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(value, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::Read() const {
  Snapshot s;
  s.cumulative.resize(bounds_->size() + 1);
  uint64_t running = 0;
  for (size_t i = 0; i <= bounds_->size(); ++i) {
    running += counts_[i].load(std::memory_order_relaxed);
    s.cumulative[i] = running;
  }
  s.count = running;
  s.sum = sum_.load(std::memory_order_relaxed);
  return s;
}

std::vector<double> ExponentialBuckets(double start, double factor, int count) {
  std::vector<double> out;
  double v = start;
  for (int i = 0; i < count; ++i, v *= factor) out.push_back(v);
  return out;
}

std::vector<double> LinearBuckets(double start, double width, int count) {
  std::vector<double> out;
  for (int i = 0; i < count; ++i) out.push_back(start + width * i);
  return out;
}

namespace {

bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Length-prefixed concatenation: unambiguous whatever bytes the values hold.
void AppendKey(std::string& key, std::string_view value) {
  uint32_t n = static_cast<uint32_t>(value.size());
  key.append(reinterpret_cast<const char*>(&n), sizeof(n));
  key.append(value);
}

constexpr std::string_view kOverflowValue = "_overflow";

}  // namespace

bool IsValidMetricName(std::string_view name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool ok = IsAlpha(c) || c == '_' || c == ':' || (i > 0 && IsDigit(c));
    if (!ok) return false;
  }
  return true;
}

bool IsValidLabelName(std::string_view name) {
  if (name.empty() || name.starts_with("__")) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool ok = IsAlpha(c) || c == '_' || (i > 0 && IsDigit(c));
    if (!ok) return false;
  }
  return true;
}

FamilyBase::FamilyBase(std::string name, std::string help, MetricType type,
                       std::vector<std::string> label_names)
    : name_(std::move(name)), help_(std::move(help)), type_(type), label_names_(std::move(label_names)) {}

template <typename T>
Family<T>::Family(std::string name, std::string help, MetricType type, std::vector<std::string> label_names,
                  Factory factory, size_t max_children)
    : FamilyBase(std::move(name), std::move(help), type, std::move(label_names)),
      factory_(std::move(factory)),
      max_children_(std::max<size_t>(max_children, 1)) {
  // An unlabelled family has exactly one child, present from the start so that it always renders.
  if (label_names_.empty()) Insert(std::string(), {});
}

template <typename T>
T* Family<T>::WithLabels(std::span<const std::string_view> values) {
  if (values.size() != label_names_.size()) {
    assert(false && "label value count does not match the family's label names");
    std::vector<std::string_view> overflow(label_names_.size(), kOverflowValue);
    return WithLabels(std::span<const std::string_view>(overflow));
  }
  // Reused per thread so that the common path (child exists) allocates nothing.
  thread_local std::string key;
  key.clear();
  for (std::string_view v : values) AppendKey(key, v);
  {
    std::shared_lock lock(mutex_);
    auto it = children_.find(std::string_view(key));
    if (it != children_.end()) return it->second.metric.get();
  }
  return Insert(key, values);
}

template <typename T>
T* Family<T>::Insert(std::string key, std::span<const std::string_view> values) {
  std::unique_lock lock(mutex_);
  auto it = children_.find(std::string_view(key));
  if (it != children_.end()) return it->second.metric.get();
  std::vector<std::string> label_values(values.begin(), values.end());
  if (children_.size() >= max_children_) {
    if (!warned_overflow_) {
      warned_overflow_ = true;
      ACCEL_LOG(kWarn, "metrics") << "metric " << name_ << " reached " << max_children_
                                  << " label sets; further ones are counted under \"_overflow\"";
    }
    key.clear();
    label_values.assign(label_names_.size(), std::string(kOverflowValue));
    for (const auto& v : label_values) AppendKey(key, v);
    it = children_.find(std::string_view(key));
    if (it != children_.end()) return it->second.metric.get();
  }
  Child child{std::move(label_values), factory_()};
  T* raw = child.metric.get();
  children_.emplace(std::move(key), std::move(child));
  return raw;
}

template <typename T>
size_t Family<T>::child_count() const {
  std::shared_lock lock(mutex_);
  return children_.size();
}

namespace {

LabelPairs MakeLabels(const std::vector<std::string>& names, const std::vector<std::string>& values) {
  LabelPairs labels;
  labels.reserve(names.size() + 1);
  for (size_t i = 0; i < names.size(); ++i) labels.emplace_back(names[i], values[i]);
  return labels;
}

void RenderChild(ExpositionWriter& out, const std::string& name, const LabelPairs& labels, const Counter& c) {
  out.Sample(name, labels, c.Value());
}

void RenderChild(ExpositionWriter& out, const std::string& name, const LabelPairs& labels, const Gauge& g) {
  out.Sample(name, labels, g.Value());
}

void RenderChild(ExpositionWriter& out, const std::string& name, const LabelPairs& labels,
                 const Histogram& h) {
  Histogram::Snapshot s = h.Read();
  const std::string bucket_name = name + "_bucket";
  LabelPairs with_le = labels;
  with_le.emplace_back("le", "");
  for (size_t i = 0; i < s.cumulative.size(); ++i) {
    std::string le = i < h.bounds().size() ? FormatValue(h.bounds()[i]) : std::string("+Inf");
    with_le.back().second = le;
    out.Sample(bucket_name, with_le, static_cast<double>(s.cumulative[i]));
  }
  out.Sample(name + "_sum", labels, s.sum);
  out.Sample(name + "_count", labels, static_cast<double>(s.count));
}

}  // namespace

template <typename T>
void Family<T>::Render(ExpositionWriter& out) const {
  std::shared_lock lock(mutex_);
  if (children_.empty()) return;
  std::vector<const Child*> ordered;
  ordered.reserve(children_.size());
  for (const auto& [key, child] : children_) ordered.push_back(&child);
  std::sort(ordered.begin(), ordered.end(),
            [](const Child* a, const Child* b) { return a->label_values < b->label_values; });
  out.BeginFamily(name_, help_, type_);
  for (const Child* child : ordered) {
    RenderChild(out, name_, MakeLabels(label_names_, child->label_values), *child->metric);
  }
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

FamilyBase* MetricRegistry::Find(std::string_view name) const {
  for (const auto& f : families_) {
    if (f->name() == name) return f.get();
  }
  return nullptr;
}

template <typename T>
Family<T>* MetricRegistry::Add(std::string name, std::string help, MetricType type,
                               std::vector<std::string> label_names, typename Family<T>::Factory factory,
                               size_t max_children) {
  bool valid = IsValidMetricName(name);
  for (const auto& l : label_names) {
    valid = valid && IsValidLabelName(l) && !(type == MetricType::kHistogram && l == "le");
  }
  assert(valid && "invalid metric or label name");
  if (!valid) {
    ACCEL_LOG(kError, "metrics") << "invalid metric or label name in " << name;
    std::abort();
  }
  std::unique_lock lock(mutex_);
  if (FamilyBase* existing = Find(name)) {
    auto* same = dynamic_cast<Family<T>*>(existing);
    assert(false && "metric registered twice");
    if (same == nullptr || existing->type() != type) {
      ACCEL_LOG(kError, "metrics") << "metric " << name << " registered twice with different types";
      std::abort();
    }
    return same;
  }
  auto family = std::make_unique<Family<T>>(std::move(name), std::move(help), type, std::move(label_names),
                                            std::move(factory), max_children);
  Family<T>* raw = family.get();
  families_.push_back(std::move(family));
  return raw;
}

CounterFamily* MetricRegistry::AddCounter(std::string name, std::string help,
                                          std::vector<std::string> label_names, size_t max_children) {
  return Add<Counter>(
      std::move(name), std::move(help), MetricType::kCounter, std::move(label_names),
      [] { return std::make_unique<Counter>(); }, max_children);
}

GaugeFamily* MetricRegistry::AddGauge(std::string name, std::string help,
                                      std::vector<std::string> label_names, size_t max_children) {
  return Add<Gauge>(
      std::move(name), std::move(help), MetricType::kGauge, std::move(label_names),
      [] { return std::make_unique<Gauge>(); }, max_children);
}

HistogramFamily* MetricRegistry::AddHistogram(std::string name, std::string help,
                                              std::vector<std::string> label_names,
                                              std::vector<double> bounds, size_t max_children) {
  std::sort(bounds.begin(), bounds.end());
  bounds.erase(std::unique(bounds.begin(), bounds.end()), bounds.end());
  bounds.erase(std::remove_if(bounds.begin(), bounds.end(), [](double b) { return !std::isfinite(b); }),
               bounds.end());
  auto shared = std::make_shared<const std::vector<double>>(std::move(bounds));
  return Add<Histogram>(
      std::move(name), std::move(help), MetricType::kHistogram, std::move(label_names),
      [shared] { return std::make_unique<Histogram>(shared); }, max_children);
}

void MetricRegistry::AddCollector(Collector collector) {
  std::unique_lock lock(mutex_);
  collectors_.push_back(std::move(collector));
}

std::string MetricRegistry::Render() const {
  ExpositionWriter out;
  std::vector<Collector> collectors;
  {
    std::shared_lock lock(mutex_);
    for (const auto& family : families_) family->Render(out);
    collectors = collectors_;
  }
  for (const auto& collect : collectors) collect(out);
  return out.Take();
}

}  // namespace accel
