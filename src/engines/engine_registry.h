// EngineRegistry: the engine kinds compiled into this binary, plus the kinds that were not built and why.
// The only place that knows which optional engines exist is engine_registry.cc (behind the ACCEL_WITH_*
// definitions); everything else iterates the registry.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "engines/engine.h"

namespace accel {

struct BuiltinEngineConfig {
  // `--sim-device` specs, e.g. "name=hailo-a,kind=hailo,ms=4,per_item_ms=0.5,max_batch=8".
  std::vector<std::string> sim_devices;
  // Let the nvidia engine expose a CPU device (test mode; never presented as a GPU).
  bool torch_cpu_device = false;
};

// One engine kind and the options its factory declares (EngineFactory::OptionSpecs).
struct EngineKindOptions {
  std::string kind;
  std::vector<EngineOptionSpec> specs;
};

class EngineRegistry {
 public:
  void Register(std::unique_ptr<EngineFactory> factory);
  // A kind that this build does not include; shown in /ai/hardware and `accel devices` with the reason.
  // `options`: what the kind would accept, so that a configuration setting them works on every build.
  void RegisterUnavailable(std::string kind, std::string reason, std::vector<EngineOptionSpec> options = {});

  EngineFactory* Find(const std::string& kind) const;
  std::vector<EngineFactory*> factories() const;
  struct Unavailable {
    std::string kind;
    std::string reason;
    std::vector<EngineOptionSpec> options;
  };
  const std::vector<Unavailable>& unavailable() const { return unavailable_; }
  // Every kind, registered then unavailable, each with its options.
  std::vector<EngineKindOptions> OptionsByKind() const;

 private:
  std::vector<std::unique_ptr<EngineFactory>> factories_;
  std::vector<Unavailable> unavailable_;
};

// Registers every engine kind built into this binary (cpu always; nvidia, hailo when built; sim when
// `config.sim_devices` is not empty) and records the missing ones as unavailable with the reason.
Status RegisterBuiltinEngines(EngineRegistry& registry, const BuiltinEngineConfig& config);

// The kinds RegisterBuiltinEngines knows, sim included whatever the configuration, with their options:
// what the command line of `accel serve` is generated from before the configuration (which the registry
// itself needs) is read. Touches no device and loads no plugin.
std::vector<EngineKindOptions> BuiltinEngineOptions();

}  // namespace accel
