// Cost model for placement: how long a device needs for a batch of n items of one model, learnt from what
// it did (ServiceEstimate), and when a new request would finish there given what is queued and in flight
// (ExpectedFinish). Pure: time is passed in, nothing here reads a clock or locks.
#pragma once

#include "core/clock.h"

namespace accel {

// Exponentially weighted least-squares fit of batch time = fixed + per_item * n for one (model, device).
// A plain EWMA of batch time cannot tell a batch of 16 from a batch of 1; the fit can, once batch sizes
// vary. While they do not (max_batch 1, or always full batches), time is taken as proportional to n above
// the sizes seen, which overestimates large batches: safe for placement. Not thread-safe.
class ServiceEstimate {
 public:
  // `prior_batch_ms`: what a batch is assumed to cost before the first sample. `alpha`: weight of a new
  // sample (0..1].
  explicit ServiceEstimate(double prior_batch_ms = 10.0, double alpha = 0.2);

  void Add(int batch_size, double batch_ms);
  bool has_samples() const { return samples_ > 0; }
  // Expected time of one batch of n >= 1 items.
  double BatchMs(int n) const;
  // Mean time per item at the batch sizes seen (prior / 1 before samples). For display.
  double ItemMs() const;

 private:
  double prior_ms_;
  double alpha_;
  long samples_ = 0;
  // Weighted sums of 1, n, t, n*n, n*t.
  double w_ = 0, sn_ = 0, st_ = 0, snn_ = 0, snt_ = 0;
};

// What the router knows about one device for one model at one moment.
struct DeviceLoad {
  int queued = 0;                // items waiting in the device's queue (all models)
  int in_flight_items = 0;       // items of batches handed to the engine and not done
  int in_flight_batches = 0;     // those batches (more than one when the worker dispatches ahead)
  SteadyTime in_flight_since{};  // when the oldest in-flight batch began to run (ignored when none)
  int max_batch = 1;             // batch size the device uses for this model
  ServiceEstimate estimate;      // copy of the device's estimate for this model
};

// Time at which one more request sent to this device now is expected to be done: what remains of the
// in-flight batches (run one after another), then the queued items plus this one in batches of max_batch.
// In-flight work that is overdue counts as needing as long again as it is late, so a hung device quickly
// looks slow.
SteadyTime ExpectedFinish(const DeviceLoad& load, SteadyTime now);
double ExpectedFinishMs(const DeviceLoad& load, SteadyTime now);  // the same, as ms from now

}  // namespace accel
