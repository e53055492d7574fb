#include "scheduler/cost_model.h"

#include <algorithm>
#include <cmath>

namespace accel {

ServiceEstimate::ServiceEstimate(double prior_batch_ms, double alpha)
    : prior_ms_(prior_batch_ms), alpha_(std::clamp(alpha, 1e-3, 1.0)) {}

void ServiceEstimate::Add(int batch_size, double batch_ms) {
  if (batch_size < 1 || !(batch_ms >= 0)) return;
  const double keep = samples_ == 0 ? 0.0 : 1.0 - alpha_;
  const double n = batch_size;
  w_ = w_ * keep + 1;
  sn_ = sn_ * keep + n;
  st_ = st_ * keep + batch_ms;
  snn_ = snn_ * keep + n * n;
  snt_ = snt_ * keep + n * batch_ms;
  ++samples_;
}

double ServiceEstimate::BatchMs(int n) const {
  n = std::max(n, 1);
  if (samples_ == 0) return prior_ms_;
  const double mean_n = sn_ / w_;
  const double mean_t = st_ / w_;
  const double var_n = snn_ / w_ - mean_n * mean_n;
  // A spread of about half an item is needed before the slope means anything.
  if (var_n > 0.25) {
    const double slope = std::max(0.0, (snt_ / w_ - mean_n * mean_t) / var_n);
    const double fixed = std::max(0.0, mean_t - slope * mean_n);
    return fixed + slope * n;
  }
  return n <= mean_n ? mean_t : mean_t * n / mean_n;
}

double ServiceEstimate::ItemMs() const {
  if (samples_ == 0) return prior_ms_;
  const double mean_n = sn_ / w_;
  return (st_ / w_) / std::max(mean_n, 1.0);
}

double ExpectedFinishMs(const DeviceLoad& load, SteadyTime now) {
  const int max_batch = std::max(load.max_batch, 1);
  double ms = 0;
  if (load.in_flight_items > 0) {
    const int batches = std::clamp(load.in_flight_batches, 1, load.in_flight_items);
    const int per_batch = (load.in_flight_items + batches - 1) / batches;
    const double expected = batches * load.estimate.BatchMs(per_batch);
    const double elapsed = std::max(0.0, MillisBetween(load.in_flight_since, now));
    ms += std::fabs(expected - elapsed);
  }
  const int items = std::max(load.queued, 0) + 1;
  const int full = items / max_batch;
  const int rest = items % max_batch;
  ms += full * load.estimate.BatchMs(max_batch);
  if (rest > 0) ms += load.estimate.BatchMs(rest);
  return ms;
}

SteadyTime ExpectedFinish(const DeviceLoad& load, SteadyTime now) {
  return now + std::chrono::duration_cast<SteadyTime::duration>(
                   std::chrono::duration<double, std::milli>(ExpectedFinishMs(load, now)));
}

}  // namespace accel
