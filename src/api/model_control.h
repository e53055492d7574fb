// ModelControl: the one gate through which front ends change which models are loaded at run time (the
// KServe repository API, Frigate's zmq model upload). The scheduler allows one control caller at a time
// (scheduler.h); this class is that caller, so two front ends never load or unload concurrently.
#pragma once

#include <functional>
#include <mutex>

#include "core/status.h"

namespace accel {

class Scheduler;

class ModelControl {
 public:
  // `scheduler` must outlive this object.
  explicit ModelControl(Scheduler* scheduler) : scheduler_(scheduler) {}
  ModelControl(const ModelControl&) = delete;
  ModelControl& operator=(const ModelControl&) = delete;

  // Runs `change` with exclusive use of the scheduler's control operations (LoadModel, UnloadModel) and
  // returns its status. Blocks while another change runs; a change may take seconds (engines read and warm up
  // the model), so call it off I/O threads. Any thread; `change` must not call Change itself.
  Status Change(const std::function<Status(Scheduler&)>& change);

 private:
  Scheduler* scheduler_;
  std::mutex mu_;
};

}  // namespace accel
