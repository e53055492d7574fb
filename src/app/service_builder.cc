#include "app/service_builder.h"

#include <algorithm>

#include "core/logging.h"
#include "core/model_repository.h"

namespace accel {
namespace {

bool KindEnabled(const ServeConfig& config, const std::string& kind, std::string* why_not) {
  if (!config.engines.empty() &&
      std::find(config.engines.begin(), config.engines.end(), kind) == config.engines.end()) {
    *why_not = "not in --engines / ENGINES";
    return false;
  }
  if (kind == "nvidia" && !config.support_nvidia) {
    *why_not = "disabled by SUPPORT_NVIDIA=false";
    return false;
  }
  if (kind == "hailo" && !config.support_hailo) {
    *why_not = "disabled by SUPPORT_HAILO=false";
    return false;
  }
  return true;
}

EngineOptions OptionsFor(const ServeConfig& config, const std::string& kind) {
  EngineOptions options;
  if (kind == "cpu" && config.cpu_threads > 0) options.values["threads"] = std::to_string(config.cpu_threads);
  if (kind == "hailo") {
    if (config.hailo_batch_size > 0) options.values["batch_size"] = std::to_string(config.hailo_batch_size);
    if (config.hailo_threads > 0) options.values["threads"] = std::to_string(config.hailo_threads);
  }
  return options;
}

}  // namespace

SchedulerOptions MakeSchedulerOptions(const ServeConfig& config) {
  SchedulerOptions options;
  options.load_balancing = config.load_balancing;
  options.round_robin = config.round_robin;
  options.fallback_engine = config.fallback_engine;
  options.device_priority = config.device_priority;
  options.queue_capacity = config.queue_capacity;
  options.execution_timeout = Micros(static_cast<int64_t>(config.execution_timeout_ms) * 1000);
  return options;
}

std::vector<EngineKindReport> ProbeAndCreateDevices(const ServeConfig& config, EngineRegistry& registry,
                                                    Scheduler* scheduler) {
  std::vector<EngineKindReport> reports;
  for (EngineFactory* factory : registry.factories()) {
    EngineKindReport report;
    report.kind = factory->kind();
    report.built = true;
    std::string why_not;
    report.enabled = KindEnabled(config, report.kind, &why_not);
    ProbeResult probe = factory->Probe();
    report.devices = probe.devices;
    if (!report.enabled) {
      report.reason = why_not;
      ACCEL_LOG(kInfo, "engines") << report.kind << ": " << probe.devices.size() << " device(s) found but "
                                  << why_not;
    } else if (probe.devices.empty()) {
      report.reason = probe.unavailable_reason.empty() ? "no device found" : probe.unavailable_reason;
      ACCEL_LOG(kInfo, "engines") << report.kind << ": no device (" << report.reason << ")";
    }
    if (report.enabled && scheduler) {
      for (const DeviceInfo& device : probe.devices) {
        auto engine = factory->Create(device, OptionsFor(config, report.kind));
        if (!engine.ok()) {
          report.create_errors.push_back(device.id + ": " + engine.status().message());
          ACCEL_LOG(kWarn, "engines") << "cannot start " << device.id << ": " << engine.status().ToString();
          continue;
        }
        DeviceOptions device_options;
        if (device.kind == "hailo" && config.hailo_batch_size > 0)
          device_options.max_batch = config.hailo_batch_size;
        Status added = scheduler->AddDevice(std::move(engine).value(), device_options);
        if (!added.ok()) {
          report.create_errors.push_back(device.id + ": " + added.message());
          ACCEL_LOG(kWarn, "engines") << "cannot add " << device.id << ": " << added.ToString();
          continue;
        }
        ACCEL_LOG(kInfo, "engines") << "device " << device.id << " (" << device.name << ")"
                                    << (device.simulated ? " [SIMULATED]" : "")
                                    << (device.test_only ? " [TEST MODE, not a GPU]" : "") << " ready";
      }
      if (!report.create_errors.empty() && report.reason.empty())
        report.reason = report.create_errors.front();
    }
    reports.push_back(std::move(report));
  }
  for (const auto& missing : registry.unavailable()) {
    EngineKindReport report;
    report.kind = missing.kind;
    report.reason = missing.reason;
    ACCEL_LOG(kInfo, "engines") << missing.kind << ": " << missing.reason;
    reports.push_back(std::move(report));
  }
  return reports;
}

StatusOr<int> LoadModelRepository(const ServeConfig& config, Scheduler& scheduler) {
  ACCEL_ASSIGN_OR_RETURN(auto entries, ScanModelRepository(config.models_dir));
  int loaded = 0;
  for (auto& entry : entries) {
    if (!entry.config.ok()) {
      ACCEL_LOG(kWarn, "models") << "skipping " << entry.name << ": " << entry.config.status().message();
      continue;
    }
    Status s = scheduler.LoadModel(*entry.config);
    if (!s.ok()) {
      ACCEL_LOG(kWarn, "models") << "model " << entry.name << " not loaded: " << s.message();
      continue;
    }
    ++loaded;
    std::string where;
    for (const auto& m : scheduler.Models())
      if (m.name == entry.config->name)
        for (const auto& d : m.devices) where += (where.empty() ? "" : ", ") + d;
    ACCEL_LOG(kInfo, "models") << "model " << entry.config->name << " loaded on " << where;
  }
  if (loaded == 0) ACCEL_LOG(kWarn, "models") << "no model loaded from " << config.models_dir;
  return loaded;
}

}  // namespace accel
