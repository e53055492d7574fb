#include "metrics/request_window.h"

#include <algorithm>
#include <chrono>
#include <cmath>

namespace accel {

const std::vector<double>& RequestWindow::BucketBounds() {
  // 20 microseconds to ~10 minutes in 10% steps; anything slower lands in the last (overflow) bucket.
  static const std::vector<double> bounds = [] {
    std::vector<double> b;
    for (double v = 20e-6; v < 600; v *= 1.1) b.push_back(v);
    return b;
  }();
  return bounds;
}

RequestWindow::RequestWindow(Clock* clock, int window_seconds)
    : clock_(clock), window_seconds_(std::max(window_seconds, 1)), start_(clock->Now()) {
  // One extra slot so the current (partial) second never overwrites the oldest full one in the window.
  slots_.resize(window_seconds_ + 1);
  for (Slot& s : slots_) s.latency_counts.assign(BucketBounds().size() + 1, 0);
}

int64_t RequestWindow::SecondOf(SteadyTime t) const {
  return std::chrono::duration_cast<std::chrono::seconds>(t - start_).count();
}

void RequestWindow::Record(double latency_seconds, bool error) {
  int64_t second = SecondOf(clock_->Now());
  const auto& bounds = BucketBounds();
  size_t bucket = std::isnan(latency_seconds)
                      ? bounds.size()
                      : std::lower_bound(bounds.begin(), bounds.end(), latency_seconds) - bounds.begin();
  std::lock_guard lock(mutex_);
  Slot& slot = slots_[second % slots_.size()];
  if (slot.second != second) {
    slot.second = second;
    slot.requests = 0;
    slot.errors = 0;
    std::fill(slot.latency_counts.begin(), slot.latency_counts.end(), 0);
  }
  ++slot.requests;
  if (error) ++slot.errors;
  ++slot.latency_counts[bucket];
}

double RequestWindow::Quantile(const std::vector<uint64_t>& counts, uint64_t total, double q) {
  const auto& bounds = BucketBounds();
  double rank = q * static_cast<double>(total);
  uint64_t running = 0;
  for (size_t i = 0; i < counts.size(); ++i) {
    if (counts[i] == 0) continue;
    if (static_cast<double>(running + counts[i]) >= rank) {
      if (i >= bounds.size()) return bounds.back();
      double lower = i == 0 ? 0.0 : bounds[i - 1];
      double upper = bounds[i];
      double within = (rank - static_cast<double>(running)) / static_cast<double>(counts[i]);
      return lower + (upper - lower) * std::clamp(within, 0.0, 1.0);
    }
    running += counts[i];
  }
  return bounds.back();
}

RequestWindow::Summary RequestWindow::Read() const {
  SteadyTime now = clock_->Now();
  int64_t current = SecondOf(now);
  // The window is the current partial second plus the window_seconds - 1 full seconds before it.
  int64_t oldest = current - window_seconds_ + 1;
  double partial = std::chrono::duration<double>(now - start_).count() - static_cast<double>(current);
  Summary s;
  s.window_seconds = static_cast<double>(std::min<int64_t>(current, window_seconds_ - 1)) + partial;
  std::vector<uint64_t> counts(BucketBounds().size() + 1, 0);
  {
    std::lock_guard lock(mutex_);
    for (const Slot& slot : slots_) {
      if (slot.second < oldest || slot.second > current || slot.second < 0) continue;
      s.requests += slot.requests;
      s.errors += slot.errors;
      for (size_t i = 0; i < counts.size(); ++i) counts[i] += slot.latency_counts[i];
    }
  }
  // Right after start the covered span can be tiny; do not report a rate from a few milliseconds.
  s.window_seconds = std::max(s.window_seconds, 1.0);
  s.throughput_rps = static_cast<double>(s.requests) / s.window_seconds;
  if (s.requests > 0) {
    s.p50_ms = Quantile(counts, s.requests, 0.50) * 1000.0;
    s.p99_ms = Quantile(counts, s.requests, 0.99) * 1000.0;
  }
  return s;
}

}  // namespace accel
