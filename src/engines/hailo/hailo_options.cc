#include "engines/hailo/hailo_options.h"

#include <sstream>

#include "core/strings.h"

namespace accel {

std::vector<EngineOptionSpec> HailoOptionSpecs() {
  using T = EngineOptionType;
  // batch_size travels as uint16_t (InferModel::set_batch_size); HailoRT itself allows far less in practice.
  return {
      {.key = "batch_size",
       .type = T::kInt,
       .default_value = "0",
       .help = "batch size on Hailo devices, also the largest batch the scheduler forms for them (0: the "
               "model's, HailoRT decides)",
       .min = 0,
       .max = 1024},
      {.key = "threads",
       .type = T::kInt,
       .default_value = "2",
       .help = "batches each Hailo device keeps in flight (HailoRT's async API has no thread count)",
       .min = 1,
       .max = 64},
      {.key = "scheduler",
       .type = T::kString,
       .default_value = "round_robin",
       .help = "HailoRT scheduling algorithm: round_robin (needed to share a card) or none"},
      {.key = "scheduler_timeout_ms",
       .type = T::kInt,
       .default_value = "",
       .help = "HailoRT scheduler timeout (default: HailoRT's)",
       .min = 0,
       .max = 600000},
      {.key = "scheduler_threshold",
       .type = T::kInt,
       .default_value = "",
       .help = "HailoRT scheduler threshold (default: HailoRT's)",
       .min = 1,
       .max = 1024},
      {.key = "scheduler_priority",
       .type = T::kInt,
       .default_value = "",
       .help = "HailoRT scheduler priority (default: HailoRT's, 16)",
       .min = 0,
       .max = 31},
      {.key = "multi_process",
       .type = T::kBool,
       .default_value = "false",
       .help = "share the card with other programs through hailort.service (needs scheduler round_robin)"},
      {.key = "group_id",
       .type = T::kString,
       .default_value = "",
       .help = "VDevice group id; programs sharing a card must use the same (default: HailoRT's)"},
      {.key = "timeout_ms",
       .type = T::kInt,
       .default_value = "2000",
       .help = "a batch running longer marks the card failed",
       .min = 10,
       .max = 600000},
      {.key = "backoff_initial_ms",
       .type = T::kInt,
       .default_value = "500",
       .help = "first delay before recreating a failed card's VDevice, doubling",
       .min = 1,
       .max = 3600000},
      {.key = "backoff_max_ms",
       .type = T::kInt,
       .default_value = "30000",
       .help = "longest delay between VDevice recreations",
       .min = 1,
       .max = 3600000},
      {.key = "monitor_interval_ms",
       .type = T::kInt,
       .default_value = "5000",
       .help = "how often temperature and power are re-read (0: never)",
       .min = 0,
       .max = 3600000},
  };
}

StatusOr<HailoOptions> ParseHailoOptions(const EngineOptions& options) {
  ACCEL_ASSIGN_OR_RETURN(ValidatedEngineOptions v,
                         ValidateEngineOptions("hailo", HailoOptionSpecs(), options));
  HailoOptions o;
  o.batch_size = static_cast<int>(v.Int("batch_size"));
  o.threads = static_cast<int>(v.Int("threads"));
  const std::string scheduler = ToLower(v.String("scheduler"));
  if (scheduler == "round_robin" || scheduler == "roundrobin" || scheduler == "rr")
    o.scheduler = HailoScheduler::kRoundRobin;
  else if (scheduler == "none" || scheduler == "off")
    o.scheduler = HailoScheduler::kNone;
  else
    return InvalidArgument("hailo.scheduler must be round_robin or none, got '" + scheduler + "'");
  // -1 (the struct's default) leaves HailoRT's own value.
  if (v.Has("scheduler_timeout_ms")) o.scheduler_timeout_ms = static_cast<int>(v.Int("scheduler_timeout_ms"));
  if (v.Has("scheduler_threshold")) o.scheduler_threshold = static_cast<int>(v.Int("scheduler_threshold"));
  if (v.Has("scheduler_priority")) o.scheduler_priority = static_cast<int>(v.Int("scheduler_priority"));
  o.multi_process = v.Bool("multi_process");
  o.group_id = v.String("group_id");
  o.timeout_ms = static_cast<int>(v.Int("timeout_ms"));
  o.backoff_initial_ms = static_cast<int>(v.Int("backoff_initial_ms"));
  o.backoff_max_ms = static_cast<int>(v.Int("backoff_max_ms"));
  o.monitor_interval_ms = static_cast<int>(v.Int("monitor_interval_ms"));

  if (o.backoff_max_ms < o.backoff_initial_ms)
    return InvalidArgument("hailo.backoff_max_ms must be >= hailo.backoff_initial_ms");
  const bool scheduler_tuned =
      o.scheduler_timeout_ms >= 0 || o.scheduler_threshold >= 0 || o.scheduler_priority >= 0;
  if (o.scheduler == HailoScheduler::kNone) {
    // HailoRT refuses both combinations at run time; saying so at start-up names the option to change.
    if (o.multi_process)
      return InvalidArgument("hailo.multi_process needs the HailoRT scheduler (hailo.scheduler=round_robin)");
    if (scheduler_tuned) {
      return InvalidArgument(
          "hailo.scheduler_timeout_ms/threshold/priority need the HailoRT scheduler "
          "(hailo.scheduler=round_robin)");
    }
  }
  return o;
}

std::string DescribeHailoOptions(const HailoOptions& o) {
  std::ostringstream out;
  out << "batch_size=" << o.batch_size << " threads=" << o.threads
      << " scheduler=" << (o.scheduler == HailoScheduler::kRoundRobin ? "round_robin" : "none");
  if (o.scheduler_timeout_ms >= 0) out << " scheduler_timeout_ms=" << o.scheduler_timeout_ms;
  if (o.scheduler_threshold >= 0) out << " scheduler_threshold=" << o.scheduler_threshold;
  if (o.scheduler_priority >= 0) out << " scheduler_priority=" << o.scheduler_priority;
  out << " multi_process=" << (o.multi_process ? "true" : "false");
  if (!o.group_id.empty()) out << " group_id=" << o.group_id;
  out << " timeout_ms=" << o.timeout_ms;
  return out.str();
}

}  // namespace accel
