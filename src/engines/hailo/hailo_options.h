// Options of the hailo engine, as a plain struct with no HailoRT type in it, so that parsing and
// validation are tested without the SDK. hailo_engine.cc maps each field onto the HailoRT call named next
// to it.
#pragma once

#include <string>
#include <vector>

#include "core/status.h"
#include "engines/engine.h"

namespace accel {

enum class HailoScheduler {
  kRoundRobin,  // HAILO_SCHEDULING_ALGORITHM_ROUND_ROBIN: HailoRT switches models; required for sharing
  kNone,        // HAILO_SCHEDULING_ALGORITHM_NONE: one model, activated explicitly
};

struct HailoOptions {
  // InferModel::set_batch_size. 0 = HAILO_DEFAULT_BATCH_SIZE (HailoRT picks). With the scheduler it is the
  // burst size after which the scheduler may switch to another model.
  int batch_size = 0;
  // Batches this engine keeps in flight (run_async jobs outstanding), reported as max_in_flight and capped
  // by ConfiguredInferModel::get_async_queue_size(). HailoRT has no thread-count knob of its own for the
  // async API; its pipeline threads are internal.
  int threads = 2;
  HailoScheduler scheduler = HailoScheduler::kRoundRobin;
  // ConfiguredInferModel::set_scheduler_timeout / _threshold / _priority; -1 = leave HailoRT's default.
  int scheduler_timeout_ms = -1;
  int scheduler_threshold = -1;
  int scheduler_priority = -1;  // 0..31 (HAILO_SCHEDULER_PRIORITY_MIN..MAX), HailoRT's default is 16
  // hailo_vdevice_params_t::multi_process_service: run through hailort.service so other programs (Frigate's
  // hailo8l detector) can use the same card. Needs the scheduler.
  bool multi_process = false;
  // hailo_vdevice_params_t::group_id ("" = HAILO_DEFAULT_VDEVICE_GROUP_ID). Programs sharing a card through
  // the service must use the same group id.
  std::string group_id;
  // How long one batch may take (wait_for_async_ready and completion) before the card is declared hung.
  int timeout_ms = 2000;
  // Recreating the VDevice after a fault: first retry after backoff_initial_ms, doubling up to
  // backoff_max_ms.
  int backoff_initial_ms = 500;
  int backoff_max_ms = 30000;
  // How often temperature and power are re-read for Stats() (0 = never).
  int monitor_interval_ms = 5000;
};

// The options of the hailo engine (keys of EngineOptions), declared here without the SDK so that
// `accel serve` accepts them (--hailo-<key>, HAILO_<KEY>) on every build, with or without HailoRT.
std::vector<EngineOptionSpec> HailoOptionSpecs();

// Checks `options` against HailoOptionSpecs() (a bad or unknown key is InvalidArgument naming
// "hailo.<key>") and the combinations HailoRT refuses, and fills the struct; keys not given keep the
// defaults above.
StatusOr<HailoOptions> ParseHailoOptions(const EngineOptions& options);

// "batch_size=0 threads=2 scheduler=round_robin ..." for logs and /ai/hardware.
std::string DescribeHailoOptions(const HailoOptions& options);

}  // namespace accel
