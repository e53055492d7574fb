#include "engines/sim/sim_engine.h"

#include <cctype>
#include <cmath>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "core/logging.h"
#include "engines/sim/sim_timer.h"

namespace accel {
namespace {

std::string Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return std::string(s);
}

StatusOr<double> ParseNumber(const std::string& key, const std::string& value) {
  // strtod rather than from_chars<double>: the latter needs a newer libstdc++ than some arm64 boards have.
  char* end = nullptr;
  const double v = std::strtod(value.c_str(), &end);
  if (value.empty() || end != value.c_str() + value.size() || !std::isfinite(v))
    return InvalidArgument("sim device: '" + key + "' needs a number, got '" + value + "'");
  return v;
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

class SimEngine : public Engine {
 public:
  explicit SimEngine(SimDeviceSpec spec)
      : spec_(std::move(spec)), info_(SimDeviceInfo(spec_)), rng_(std::hash<std::string>{}(spec_.name)) {}
  ~SimEngine() override { Shutdown(); }

  const DeviceInfo& device() const override { return info_; }

  EngineCapabilities capabilities() const override {
    EngineCapabilities caps;
    caps.max_batch = spec_.max_batch;
    caps.max_in_flight = 1;  // one batch at a time, like the accelerators it stands in for
    caps.async = true;
    return caps;
  }

  bool Supports(const ModelConfig&) const override { return true; }

  Status Load(const ModelConfig& model) override {
    std::lock_guard lock(mu_);
    if (shut_down_) return Unavailable("sim device " + spec_.name + " is shut down");
    models_[model.name] = std::make_shared<const ModelConfig>(model);
    return Status::Ok();
  }

  Status Unload(const std::string& model) override {
    std::lock_guard lock(mu_);
    if (models_.erase(model) == 0) return NotFound("model '" + model + "' is not loaded on " + info_.id);
    return Status::Ok();
  }

  // Honours the fault state (so the scheduler can use it as a probe) but does not count as a call for
  // fail_after / hang_after. A hung device answers the warmup at once with an error rather than hanging the
  // caller's control thread.
  Status Warmup(const std::string& model, int batch_size) override {
    double ms = 0;
    {
      std::lock_guard lock(mu_);
      if (models_.find(model) == models_.end())
        return NotFound("model '" + model + "' is not loaded on " + info_.id);
      UpdateFaultLocked(std::chrono::steady_clock::now());
      if (fault_ != Fault::kNone) return Unavailable(FaultReasonLocked());
      ms = spec_.ms + spec_.per_item_ms * batch_size;
    }
    std::this_thread::sleep_for(std::chrono::duration<double, std::milli>(ms));
    return Status::Ok();
  }

  Status Submit(Batch& batch) override {
    const SteadyTime now = std::chrono::steady_clock::now();
    std::shared_ptr<const ModelConfig> model;
    enum class Outcome { kOk, kFail, kHang } outcome = Outcome::kOk;
    uint64_t id = 0;
    size_t n_items = 0;
    std::string fail_reason;
    {
      std::lock_guard lock(mu_);
      if (shut_down_) return Unavailable("sim device " + spec_.name + " is shut down");
      auto it = models_.find(batch.model);
      if (it == models_.end()) return NotFound("model '" + batch.model + "' is not loaded on " + info_.id);
      if (batch.items.empty()) return InvalidArgument("empty batch");
      if (static_cast<int>(batch.items.size()) > spec_.max_batch)
        return InvalidArgument("batch of " + std::to_string(batch.items.size()) + " over max_batch " +
                               std::to_string(spec_.max_batch) + " of " + info_.id);
      model = it->second;
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
      } else if (spec_.fail_rate > 0 &&
                 std::uniform_real_distribution<double>(0, 1)(rng_) < spec_.fail_rate) {
        outcome = Outcome::kFail;
        fail_reason = "simulated random failure (fail_rate=" + FormatNumber(spec_.fail_rate) + ")";
      }
      id = next_id_++;
      Pending& pending = pending_[id];
      pending.model = model;
      pending.items = std::move(batch.items);
      n_items = pending.items.size();
      pending.fail_reason = fail_reason;
      pending.fail = outcome == Outcome::kFail;
      ++stats_.batches_executed;
      if (pending.fail) ++stats_.failures;
    }
    batch.items.clear();
    if (outcome == Outcome::kHang) return Status::Ok();  // stays pending until Shutdown
    const double ms = spec_.ms + spec_.per_item_ms * static_cast<double>(n_items);
    const auto when =
        now + std::chrono::duration_cast<SteadyTime::duration>(std::chrono::duration<double, std::milli>(ms));
    if (!timer_.Schedule(when, [this, id] { Complete(id); })) FailPending(id);  // raced with Shutdown
    return Status::Ok();
  }

  EngineHealth Health() const override {
    std::lock_guard lock(mu_);
    UpdateFaultLocked(std::chrono::steady_clock::now());
    EngineHealth h;
    if (shut_down_) {
      h.state = HealthState::kFailed;
      h.reason = "shut down";
    } else if (fault_ != Fault::kNone) {
      h.state = HealthState::kFailed;
      h.reason = FaultReasonLocked();
    }
    return h;
  }

  EngineStats Stats() const override {
    std::lock_guard lock(mu_);
    return stats_;
  }

  void Shutdown() override {
    {
      std::lock_guard lock(mu_);
      if (shut_down_) return;
      shut_down_ = true;
    }
    timer_.Stop();
    std::map<uint64_t, Pending> pending;
    {
      std::lock_guard lock(mu_);
      pending.swap(pending_);
    }
    for (auto& [id, p] : pending) {
      for (BatchItem& item : p.items) item.done(Unavailable("sim device " + spec_.name + " shut down"));
    }
  }

 private:
  enum class Fault { kNone, kFail, kHang };
  struct Pending {
    std::shared_ptr<const ModelConfig> model;
    std::vector<BatchItem> items;
    bool fail = false;
    std::string fail_reason;
  };

  void FailPending(uint64_t id) {
    Pending p;
    {
      std::lock_guard lock(mu_);
      auto it = pending_.find(id);
      if (it == pending_.end()) return;
      p = std::move(it->second);
      pending_.erase(it);
    }
    for (BatchItem& item : p.items) item.done(Unavailable("sim device " + spec_.name + " shut down"));
  }

  void StartFaultLocked(Fault fault, SteadyTime now) {
    fault_ = fault;
    fault_since_ = now;
    ACCEL_LOG(kWarn, "sim") << "simulated device " << info_.id << ": " << FaultReasonLocked();
  }

  // A fault clears for good recover_after_ms after it started.
  void UpdateFaultLocked(SteadyTime now) const {
    if (fault_ == Fault::kNone || spec_.recover_after_ms < 0) return;
    if (MillisBetween(fault_since_, now) >= spec_.recover_after_ms) {
      fault_ = Fault::kNone;
      recovered_ = true;
      ACCEL_LOG(kInfo, "sim") << "simulated device " << info_.id << " recovered after "
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

  // Timer thread.
  void Complete(uint64_t id) {
    Pending p;
    {
      std::lock_guard lock(mu_);
      auto it = pending_.find(id);
      if (it == pending_.end()) return;
      p = std::move(it->second);
      pending_.erase(it);
      if (!p.fail) stats_.items_executed += p.items.size();
    }
    const std::vector<int64_t> item_shape = [&] {
      std::vector<int64_t> s = {1};
      for (int64_t d : p.model->InputItemShape()) s.push_back(d);
      return s;
    }();
    for (BatchItem& item : p.items) {
      if (p.fail) {
        item.done(Internal(p.fail_reason));
      } else if (!item.input || item.input->shape() != item_shape ||
                 item.input->dtype() != p.model->input.dtype) {
        item.done(InvalidArgument("input " + (item.input ? item.input->Describe() : std::string("null")) +
                                  " does not match model '" + p.model->name + "' input " +
                                  std::string(DTypeName(p.model->input.dtype)) + ShapeToString(item_shape)));
      } else {
        item.done(ZeroOutputs(*p.model));
      }
    }
  }

  const SimDeviceSpec spec_;
  const DeviceInfo info_;
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<const ModelConfig>> models_;
  std::map<uint64_t, Pending> pending_;
  uint64_t next_id_ = 1;
  long calls_ = 0;
  mutable Fault fault_ = Fault::kNone;
  mutable SteadyTime fault_since_{};
  mutable bool recovered_ = false;
  bool shut_down_ = false;
  std::mt19937_64 rng_;
  EngineStats stats_;
  SimTimer timer_;  // last: its thread stops before the members above go away
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
  StatusOr<std::unique_ptr<Engine>> Create(const DeviceInfo& device, const EngineOptions&) override {
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
