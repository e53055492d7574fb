// Assembles the engine side of the service from a ServeConfig: registers engine kinds, probes devices,
// creates an engine per enabled device and hands it to the scheduler, then loads the model repository.
// Shared by `accel serve`, `accel infer` and `accel devices` so all three see the same machine.
#pragma once

#include <memory>
#include <vector>

#include "api/service_context.h"
#include "app/app_config.h"
#include "engines/engine_registry.h"
#include "scheduler/scheduler.h"

namespace accel {

SchedulerOptions MakeSchedulerOptions(const ServeConfig& config);

// Probes every registered kind. When `scheduler` is given, creates engines for enabled kinds and adds them.
// Logs what was found, what was created and why anything was not.
std::vector<EngineKindReport> ProbeAndCreateDevices(const ServeConfig& config, EngineRegistry& registry,
                                                    Scheduler* scheduler);

// Loads every valid model under config.models_dir on the devices that support it. Logs each outcome.
// Returns the number of models loaded; errors only if the repository itself cannot be read.
StatusOr<int> LoadModelRepository(const ServeConfig& config, Scheduler& scheduler);

}  // namespace accel
