#include "engines/sim/sim_engine.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "core/logging.h"
#include "core/numbers.h"
#include "engines/sync_engine.h"

namespace accel {
namespace {

std::string Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return std::string(s);
}

StatusOr<double> ParseNumber(const std::string& key, const std::string& value) {
  const auto v = ParseDouble(value);
  if (!v) return InvalidArgument("sim device: '" + key + "' needs a number, got '" + value + "'");
  return *v;
}

std::string FormatNumber(double v) {
  std::ostringstream out;
  out << v;
  return out.str();
}

// Output tensors of one item: one zero tensor per declared model output, shape [1, ...item shape], with
// variable (-1) dims taken as 1.
TensorList ZeroOutputs(const ModelConfig& model) {
  TensorList outputs;
  outputs.reserve(model.outputs.size());
  for (const OutputSpec& spec : model.outputs) {
    std::vector<int64_t> shape = {1};
    for (int64_t d : spec.shape) shape.push_back(d < 0 ? 1 : d);
    Tensor t(spec.dtype, shape, spec.name);
    t.Fill(0);
    outputs.push_back(std::move(t));
  }
  return outputs;
}

// One simulated device on the SyncEngine skeleton: one worker, one batch at a time (like the accelerators
// it stands in for). Run sleeps the modelled latency on that worker, which costs wall time but no CPU, so
// many simulated devices share the 2 cores of the benchmarks.
class SimEngine final : public SyncEngine {
 public:
  explicit SimEngine(SimDeviceSpec spec)
      : SyncEngine(
            SimDeviceInfo(spec),
            SyncEngineLimits{.max_batch = spec.max_batch, .max_in_flight = spec.in_flight, .workers = 1}),
        spec_(std::move(spec)),
        rng_(std::hash<std::string>{}(spec_.name)) {}
  ~SimEngine() override { Shutdown(); }

  bool Supports(const ModelConfig&) const override { return true; }

  // Honours the fault state (so the scheduler can use it as a probe) but does not count as a call for
  // fail_after / hang_after. A faulty device answers at once with an error rather than hanging the
  // caller's control thread.
  Status Warmup(const std::string& model, int batch_size) override {
    {
      std::lock_guard lock(fault_mu_);
      UpdateFaultLocked(std::chrono::steady_clock::now());
      if (fault_ != Fault::kNone) return Unavailable(FaultReasonLocked());
    }
    return SyncEngine::Warmup(model, batch_size);
  }

  EngineHealth Health() const override {
    EngineHealth h = SyncEngine::Health();
    if (h.state != HealthState::kReady) return h;
    std::lock_guard lock(fault_mu_);
    UpdateFaultLocked(std::chrono::steady_clock::now());
    if (fault_ != Fault::kNone) return {HealthState::kFailed, FaultReasonLocked()};
    return h;
  }

 protected:
  StatusOr<std::shared_ptr<const LoadedModel>> LoadModel(const ModelConfig& model) override {
    return std::make_shared<const LoadedModel>(model);
  }

  // The one worker thread. A batch of n ends ms + per_item_ms * n after the device took it: after it was
  // accepted, or after the previous batch ended if that was later.
  StatusOr<std::vector<TensorList>> Run(const LoadedModel& model, const SyncBatch& batch) override {
    enum class Outcome { kOk, kFail, kHang } outcome = Outcome::kOk;
    std::string fail_reason;
    std::optional<SteadyTime> hang_until;
    if (!batch.warmup) {
      const SteadyTime now = std::chrono::steady_clock::now();
      std::lock_guard lock(fault_mu_);
      const long n = ++calls_;
      UpdateFaultLocked(now);
      if (fault_ == Fault::kNone && !recovered_) {
        if (spec_.fail_after >= 0 && n > spec_.fail_after) {
          StartFaultLocked(Fault::kFail, now);
        } else if (spec_.hang_after >= 0 && n > spec_.hang_after) {
          StartFaultLocked(Fault::kHang, now);
        }
      }
      if (fault_ == Fault::kFail) {
        outcome = Outcome::kFail;
        fail_reason = FaultReasonLocked();
      } else if (fault_ == Fault::kHang) {
        outcome = Outcome::kHang;
        if (spec_.recover_after_ms >= 0) hang_until = fault_since_ + MillisToDuration(spec_.recover_after_ms);
      } else if (spec_.fail_rate > 0 &&
                 std::uniform_real_distribution<double>(0, 1)(rng_) < spec_.fail_rate) {
        outcome = Outcome::kFail;
        fail_reason = "simulated random failure (fail_rate=" + FormatNumber(spec_.fail_rate) + ")";
      }
    }
    if (outcome == Outcome::kHang) {
      // A hung device answers nothing until it recovers (the scheduler has timed the batch out by then)
      // or the engine shuts down.
      if (WaitForShutdown(hang_until)) return Unavailable("sim device " + spec_.name + " shut down");
      return Unavailable("sim device " + spec_.name + ": simulated hang ended by recover_after_ms");
    }
    const double ms = spec_.ms + spec_.per_item_ms * static_cast<double>(batch.inputs.size());
    busy_until_ = std::max(batch.accepted, busy_until_) + MillisToDuration(ms);
    std::this_thread::sleep_until(busy_until_);
    if (outcome == Outcome::kFail) return Internal(fail_reason);
    std::vector<TensorList> outputs;
    outputs.reserve(batch.inputs.size());
    for (size_t i = 0; i < batch.inputs.size(); ++i) outputs.push_back(ZeroOutputs(model.config()));
    return outputs;
  }

 private:
  enum class Fault { kNone, kFail, kHang };

  static SteadyTime::duration MillisToDuration(double ms) {
    return std::chrono::duration_cast<SteadyTime::duration>(std::chrono::duration<double, std::milli>(ms));
  }

  void StartFaultLocked(Fault fault, SteadyTime now) {
    fault_ = fault;
    fault_since_ = now;
    ACCEL_LOG(kWarn, "sim") << "simulated device " << device().id << ": " << FaultReasonLocked();
  }

  // A fault clears for good recover_after_ms after it started.
  void UpdateFaultLocked(SteadyTime now) const {
    if (fault_ == Fault::kNone || spec_.recover_after_ms < 0) return;
    if (MillisBetween(fault_since_, now) >= spec_.recover_after_ms) {
      fault_ = Fault::kNone;
      recovered_ = true;
      ACCEL_LOG(kInfo, "sim") << "simulated device " << device().id << " recovered after "
                              << spec_.recover_after_ms << " ms";
    }
  }

  std::string FaultReasonLocked() const {
    if (fault_ == Fault::kFail)
      return "simulated fault: fail_after=" + std::to_string(spec_.fail_after) + " reached";
    if (fault_ == Fault::kHang)
      return "simulated hang: hang_after=" + std::to_string(spec_.hang_after) + " reached";
    return {};
  }

  const SimDeviceSpec spec_;
  SteadyTime busy_until_{};  // the worker thread only

  mutable std::mutex fault_mu_;  // guards the fault state below; Health reads it from any thread
  long calls_ = 0;
  mutable Fault fault_ = Fault::kNone;
  mutable SteadyTime fault_since_{};
  mutable bool recovered_ = false;
  std::mt19937_64 rng_;
};

class SimEngineFactory : public EngineFactory {
 public:
  explicit SimEngineFactory(std::vector<SimDeviceSpec> specs) : specs_(std::move(specs)) {}
  std::string kind() const override { return "sim"; }
  ProbeResult Probe() override {
    ProbeResult result;
    for (const SimDeviceSpec& spec : specs_) result.devices.push_back(SimDeviceInfo(spec));
    if (specs_.empty()) result.unavailable_reason = "no --sim-device given";
    return result;
  }
  // The simulated devices are described by their --sim-device specs; the kind has no options of its own.
  StatusOr<std::unique_ptr<Engine>> Create(const DeviceInfo& device, const EngineOptions& options) override {
    ACCEL_RETURN_IF_ERROR(ValidateEngineOptions(kind(), OptionSpecs(), options).status());
    for (const SimDeviceSpec& spec : specs_) {
      if (SimDeviceInfo(spec).id == device.id) return MakeSimEngine(spec);
    }
    return NotFound("no simulated device " + device.id);
  }

 private:
  std::vector<SimDeviceSpec> specs_;
};

}  // namespace

StatusOr<SimDeviceSpec> ParseSimDeviceSpec(std::string_view text) {
  SimDeviceSpec spec;
  std::set<std::string> seen;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t comma = text.find(',', pos);
    if (comma == std::string_view::npos) comma = text.size();
    const std::string part = Trim(text.substr(pos, comma - pos));
    pos = comma + 1;
    if (part.empty()) continue;
    const size_t eq = part.find('=');
    if (eq == std::string::npos) return InvalidArgument("sim device: expected key=value, got '" + part + "'");
    const std::string key = Trim(part.substr(0, eq));
    const std::string value = Trim(part.substr(eq + 1));
    if (!seen.insert(key).second) return InvalidArgument("sim device: '" + key + "' given twice");
    if (key == "name") {
      spec.name = value;
      continue;
    }
    if (key == "kind") {
      spec.kind = value;
      continue;
    }
    ACCEL_ASSIGN_OR_RETURN(double v, ParseNumber(key, value));
    const bool integral = v == std::floor(v);
    if (key == "ms") {
      spec.ms = v;
    } else if (key == "per_item_ms") {
      spec.per_item_ms = v;
    } else if (key == "max_batch") {
      if (!integral || v < 1 || v > 4096) return InvalidArgument("sim device: max_batch must be 1..4096");
      spec.max_batch = static_cast<int>(v);
    } else if (key == "in_flight") {
      if (!integral || v < 1 || v > 64) return InvalidArgument("sim device: in_flight must be 1..64");
      spec.in_flight = static_cast<int>(v);
    } else if (key == "fail_after") {
      if (!integral || v < 0) return InvalidArgument("sim device: fail_after must be a whole number >= 0");
      spec.fail_after = static_cast<long>(v);
    } else if (key == "fail_rate") {
      if (v < 0 || v > 1) return InvalidArgument("sim device: fail_rate must be in [0, 1]");
      spec.fail_rate = v;
    } else if (key == "hang_after") {
      if (!integral || v < 0) return InvalidArgument("sim device: hang_after must be a whole number >= 0");
      spec.hang_after = static_cast<long>(v);
    } else if (key == "recover_after_ms") {
      if (v < 0) return InvalidArgument("sim device: recover_after_ms must be >= 0");
      spec.recover_after_ms = v;
    } else {
      return InvalidArgument("sim device: unknown key '" + key + "'");
    }
  }
  if (spec.name.empty()) return InvalidArgument("sim device: 'name' is required");
  for (char c : spec.name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.')
      return InvalidArgument("sim device: name may hold letters, digits, '-', '_' and '.' only");
  }
  if (spec.kind.empty()) return InvalidArgument("sim device: 'kind' must not be empty");
  if (spec.ms < 0 || spec.per_item_ms < 0) return InvalidArgument("sim device: latencies must be >= 0");
  return spec;
}

DeviceInfo SimDeviceInfo(const SimDeviceSpec& spec) {
  DeviceInfo info;
  info.id = "sim:" + spec.name;
  info.kind = spec.kind;
  info.name = "Simulated " + spec.kind + " (" + spec.name + ")";
  info.simulated = true;
  info.properties["simulated"] = "true";
  info.properties["latency_model"] = "ms + per_item_ms * n";
  info.properties["ms"] = FormatNumber(spec.ms);
  info.properties["per_item_ms"] = FormatNumber(spec.per_item_ms);
  info.properties["max_batch"] = std::to_string(spec.max_batch);
  info.properties["in_flight"] = std::to_string(spec.in_flight);
  if (spec.fail_after >= 0) info.properties["fail_after"] = std::to_string(spec.fail_after);
  if (spec.fail_rate > 0) info.properties["fail_rate"] = FormatNumber(spec.fail_rate);
  if (spec.hang_after >= 0) info.properties["hang_after"] = std::to_string(spec.hang_after);
  if (spec.recover_after_ms >= 0) info.properties["recover_after_ms"] = FormatNumber(spec.recover_after_ms);
  return info;
}

std::unique_ptr<Engine> MakeSimEngine(const SimDeviceSpec& spec) { return std::make_unique<SimEngine>(spec); }

StatusOr<std::unique_ptr<EngineFactory>> MakeSimEngineFactory(const std::vector<std::string>& specs) {
  std::vector<SimDeviceSpec> parsed;
  std::set<std::string> names;
  for (const std::string& text : specs) {
    ACCEL_ASSIGN_OR_RETURN(SimDeviceSpec spec, ParseSimDeviceSpec(text));
    if (!names.insert(spec.name).second)
      return InvalidArgument("sim device name '" + spec.name + "' given twice");
    parsed.push_back(std::move(spec));
  }
  return std::unique_ptr<EngineFactory>(std::make_unique<SimEngineFactory>(std::move(parsed)));
}

}  // namespace accel
