// RequestWindow: requests of the last few seconds, for the human-facing summary (/ai/stats, the web
// dashboard): throughput and approximate latency percentiles over a sliding window. Prometheus gets the
// exact cumulative histograms instead; this exists so the page needs no PromQL.
//
// Latencies are counted into geometric buckets 10% wide, so a percentile is accurate to about 5%.
// Threads: Record and Read may be called from any thread; a short mutex guards the ring (one lock per
// request, uncontended in practice, far below the cost of an inference).
#pragma once

#include <cstdint>
#include <mutex>
#include <vector>

#include "core/clock.h"

namespace accel {

class RequestWindow {
 public:
  // `clock` is not owned and must outlive the window. window_seconds >= 1.
  explicit RequestWindow(Clock* clock = Clock::Real(), int window_seconds = 10);

  void Record(double latency_seconds, bool error);

  struct Summary {
    double window_seconds = 0;  // span actually covered (shorter right after start)
    uint64_t requests = 0;      // in the window
    uint64_t errors = 0;        // in the window
    double throughput_rps = 0;  // requests / window_seconds
    double p50_ms = -1;         // -1 when the window holds no request
    double p99_ms = -1;
  };
  Summary Read() const;

  // Bucket upper bounds in seconds (exposed for tests).
  static const std::vector<double>& BucketBounds();

 private:
  struct Slot {
    int64_t second = -1;  // which second since the window's start this slot holds; -1: empty
    uint64_t requests = 0;
    uint64_t errors = 0;
    std::vector<uint32_t> latency_counts;
  };
  int64_t SecondOf(SteadyTime t) const;
  static double Quantile(const std::vector<uint64_t>& counts, uint64_t total, double q);

  Clock* clock_;
  int window_seconds_;
  SteadyTime start_;
  mutable std::mutex mutex_;
  std::vector<Slot> slots_;  // ring indexed by second % size
};

}  // namespace accel
