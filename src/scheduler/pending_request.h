// PendingRequest: one client request on its way through the scheduler, shared by the router, the device
// queues and the engine callbacks of its attempts. Its `done` runs exactly once (Finish guards it), however
// the attempts end: completion, retry exhaustion, deadline, shutdown, or a late reply after a timeout.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "scheduler/scheduler.h"

namespace accel {

struct PendingRequest {
  std::string engine;  // requested kind after defaults ("auto" or a kind)
  std::optional<SteadyTime> deadline;
  std::shared_ptr<const ModelConfig> model;
  std::shared_ptr<const Tensor> input;
  InferenceDone done;
  SteadyTime submitted{};

  // Guarded by mu: attempts so far, devices that failed it (never tried again), last failure.
  std::mutex mu;
  int attempts = 0;
  std::vector<std::string> failed_on;
  Status last_error;

  // Device queue bookkeeping, written by the owning worker only while the request sits in its queue.
  SteadyTime enqueued{};

  bool Expired(SteadyTime now) const { return deadline.has_value() && now >= *deadline; }

  // Calls done once; later calls are ignored. Returns whether this call delivered.
  bool Finish(StatusOr<InferenceResult> result) {
    if (finished_.exchange(true)) return false;
    InferenceDone cb = std::move(done);
    cb(std::move(result));
    return true;
  }
  bool finished() const { return finished_.load(); }

 private:
  std::atomic<bool> finished_{false};
};

using RequestPtr = std::shared_ptr<PendingRequest>;

}  // namespace accel
