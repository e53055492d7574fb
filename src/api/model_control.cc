#include "api/model_control.h"

namespace accel {

Status ModelControl::Change(const std::function<Status(Scheduler&)>& change) {
  std::lock_guard<std::mutex> lock(mu_);
  return change(*scheduler_);
}

}  // namespace accel
