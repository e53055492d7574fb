#include "engines/hailo/hailo_options.h"

#include <cctype>
#include <charconv>
#include <cstdlib>
#include <set>
#include <sstream>

namespace accel {
namespace {

struct Source {
  const EngineOptions& options;
  const EnvLookup& env;

  // The option's text and where it came from ("threads" or "HAILO_THREADS"), or nullopt-like empty origin.
  bool Find(const std::string& key, const char* env_name, std::string* text, std::string* origin) const {
    if (auto it = options.values.find(key); it != options.values.end()) {
      *text = it->second;
      *origin = key;
      return true;
    }
    if (env_name != nullptr && env) {
      if (const char* v = env(env_name); v != nullptr && *v != '\0') {
        *text = v;
        *origin = env_name;
        return true;
      }
    }
    return false;
  }
};

Status ReadInt(const Source& src, const std::string& key, const char* env_name, int min, int max, int* out) {
  std::string text, origin;
  if (!src.Find(key, env_name, &text, &origin)) return Status::Ok();
  int value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc() || ptr != end)
    return InvalidArgument("hailo: " + origin + "='" + text + "' is not an integer");
  if (value < min || value > max) {
    return InvalidArgument("hailo: " + origin + "=" + text + " is out of range " + std::to_string(min) +
                           ".." + std::to_string(max));
  }
  *out = value;
  return Status::Ok();
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

Status ReadBool(const Source& src, const std::string& key, const char* env_name, bool* out) {
  std::string text, origin;
  if (!src.Find(key, env_name, &text, &origin)) return Status::Ok();
  const std::string v = Lower(text);
  if (v == "1" || v == "true" || v == "yes" || v == "on")
    *out = true;
  else if (v == "0" || v == "false" || v == "no" || v == "off")
    *out = false;
  else
    return InvalidArgument("hailo: " + origin + "='" + text + "' is not a boolean (true/false)");
  return Status::Ok();
}

const std::set<std::string>& KnownKeys() {
  static const std::set<std::string> kKeys = {"batch_size",          "threads",
                                              "scheduler",           "scheduler_timeout_ms",
                                              "scheduler_threshold", "scheduler_priority",
                                              "multi_process",       "group_id",
                                              "timeout_ms",          "backoff_initial_ms",
                                              "backoff_max_ms",      "monitor_interval_ms"};
  return kKeys;
}

}  // namespace

EnvLookup ProcessEnv() {
  return [](const char* name) -> const char* { return std::getenv(name); };
}

StatusOr<HailoOptions> ParseHailoOptions(const EngineOptions& options, const EnvLookup& env) {
  for (const auto& [key, value] : options.values) {
    if (!KnownKeys().count(key)) return InvalidArgument("hailo: unknown engine option '" + key + "'");
  }
  const Source src{options, env};
  HailoOptions o;
  // batch_size travels as uint16_t (InferModel::set_batch_size); HailoRT itself allows far less in practice.
  ACCEL_RETURN_IF_ERROR(ReadInt(src, "batch_size", "HAILO_BATCH_SIZE", 0, 1024, &o.batch_size));
  ACCEL_RETURN_IF_ERROR(ReadInt(src, "threads", "HAILO_THREADS", 1, 64, &o.threads));
  std::string text, origin;
  if (src.Find("scheduler", "HAILO_SCHEDULER", &text, &origin)) {
    const std::string v = Lower(text);
    if (v == "round_robin" || v == "roundrobin" || v == "rr")
      o.scheduler = HailoScheduler::kRoundRobin;
    else if (v == "none" || v == "off")
      o.scheduler = HailoScheduler::kNone;
    else
      return InvalidArgument("hailo: " + origin + "='" + text + "' must be round_robin or none");
  }
  ACCEL_RETURN_IF_ERROR(
      ReadInt(src, "scheduler_timeout_ms", "HAILO_SCHEDULER_TIMEOUT_MS", 0, 600000, &o.scheduler_timeout_ms));
  ACCEL_RETURN_IF_ERROR(
      ReadInt(src, "scheduler_threshold", "HAILO_SCHEDULER_THRESHOLD", 1, 1024, &o.scheduler_threshold));
  ACCEL_RETURN_IF_ERROR(
      ReadInt(src, "scheduler_priority", "HAILO_SCHEDULER_PRIORITY", 0, 31, &o.scheduler_priority));
  ACCEL_RETURN_IF_ERROR(ReadBool(src, "multi_process", "HAILO_MULTI_PROCESS", &o.multi_process));
  if (src.Find("group_id", "HAILO_GROUP_ID", &text, &origin)) o.group_id = text;
  ACCEL_RETURN_IF_ERROR(ReadInt(src, "timeout_ms", "HAILO_TIMEOUT_MS", 10, 600000, &o.timeout_ms));
  ACCEL_RETURN_IF_ERROR(ReadInt(src, "backoff_initial_ms", nullptr, 1, 3600000, &o.backoff_initial_ms));
  ACCEL_RETURN_IF_ERROR(ReadInt(src, "backoff_max_ms", nullptr, 1, 3600000, &o.backoff_max_ms));
  ACCEL_RETURN_IF_ERROR(ReadInt(src, "monitor_interval_ms", nullptr, 0, 3600000, &o.monitor_interval_ms));

  if (o.backoff_max_ms < o.backoff_initial_ms)
    return InvalidArgument("hailo: backoff_max_ms must be >= backoff_initial_ms");
  const bool scheduler_tuned =
      o.scheduler_timeout_ms >= 0 || o.scheduler_threshold >= 0 || o.scheduler_priority >= 0;
  if (o.scheduler == HailoScheduler::kNone) {
    // HailoRT refuses both combinations at run time; saying so at start-up names the option to change.
    if (o.multi_process)
      return InvalidArgument("hailo: multi_process needs the HailoRT scheduler (scheduler=round_robin)");
    if (scheduler_tuned) {
      return InvalidArgument(
          "hailo: scheduler_timeout_ms/threshold/priority need the HailoRT scheduler "
          "(scheduler=round_robin)");
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
