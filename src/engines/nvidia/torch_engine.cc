// The only translation unit of the engine that includes libtorch (its headers cost ~20 s of compile time
// each). CUDA is reached only through libtorch's device-generic API (c10::Device, c10::Stream,
// c10::StreamGuard, pinned host tensors), so this file compiles against a CPU-only libtorch such as
// Debian's and runs on GPUs when linked against a CUDA build (e.g. the PyTorch wheel's libtorch).
#include "engines/nvidia/torch_engine.h"

#include "engines/nvidia/nvidia_options.h"

#include <ATen/Context.h>
#include <ATen/Parallel.h>
#include <c10/core/DeviceGuard.h>
#include <c10/core/InferenceMode.h>
#include <c10/core/StreamGuard.h>
#include <c10/core/impl/DeviceGuardImplInterface.h>
#include <c10/core/impl/VirtualGuardImpl.h>
#include <torch/cuda.h>
#include <torch/script.h>
#include <torch/version.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <optional>

#include "core/logging.h"
#include "engines/nvidia/nvml.h"
#include "engines/nvidia/torch_aoti.h"
#include "engines/nvidia/torch_errors.h"
#include "engines/sync_engine.h"

namespace accel {

namespace {

constexpr char kLog[] = "nvidia";
constexpr char kCpuDeviceId[] = "nvidia-cpu:0";
constexpr char kGpuIdPrefix[] = "nvidia:";

std::string LibtorchVersion() { return TORCH_VERSION; }

std::optional<c10::ScalarType> ToScalarType(DType dtype) {
  switch (dtype) {
    case DType::kFloat32:
      return c10::ScalarType::Float;
    case DType::kFloat16:
      return c10::ScalarType::Half;
    case DType::kUInt8:
      return c10::ScalarType::Byte;
    case DType::kInt8:
      return c10::ScalarType::Char;
    case DType::kInt32:
      return c10::ScalarType::Int;
    case DType::kInt64:
      return c10::ScalarType::Long;
  }
  return std::nullopt;
}

std::optional<DType> FromScalarType(c10::ScalarType type) {
  switch (type) {
    case c10::ScalarType::Float:
      return DType::kFloat32;
    case c10::ScalarType::Half:
      return DType::kFloat16;
    case c10::ScalarType::Byte:
      return DType::kUInt8;
    case c10::ScalarType::Char:
      return DType::kInt8;
    case c10::ScalarType::Int:
      return DType::kInt32;
    case c10::ScalarType::Long:
      return DType::kInt64;
    default:
      return std::nullopt;
  }
}

// Whether the linked libtorch has its CUDA backend (libc10_cuda registers a device guard when loaded).
bool LibtorchHasCuda() { return c10::impl::hasDeviceGuardImpl(c10::DeviceType::CUDA); }

// Runs one model on the engine's device. Run may be called from several worker threads at once, each with
// its own current stream; it may throw c10::Error (caught by the worker).
class ModelRunner {
 public:
  virtual ~ModelRunner() = default;
  virtual std::vector<at::Tensor> Run(const at::Tensor& input) = 0;
};

class ScriptRunner final : public ModelRunner {
 public:
  explicit ScriptRunner(torch::jit::Module module) : module_(std::move(module)) {}

  std::vector<at::Tensor> Run(const at::Tensor& input) override {
    std::vector<c10::IValue> args{input};
    c10::IValue result = module_.forward(std::move(args));
    std::vector<at::Tensor> outputs;
    auto take = [&outputs](const c10::IValue& value) {
      TORCH_CHECK(value.isTensor(), "model output is not a tensor (", value.tagKind(), ")");
      outputs.push_back(value.toTensor());
    };
    if (result.isTensor()) {
      take(result);
    } else if (result.isTuple()) {
      for (const c10::IValue& element : result.toTupleRef().elements()) take(element);
    } else if (result.isList()) {
      for (const c10::IValue& element : result.toListRef()) take(element);
    } else {
      TORCH_CHECK(false, "model returned ", result.tagKind(), ", expected a tensor or a tuple of tensors");
    }
    return outputs;
  }

 private:
  torch::jit::Module module_;
};

#if ACCEL_TORCH_HAS_AOTI
// AOTInductor's runner is not documented as safe for concurrent calls, so calls are serialised; with
// several worker streams the host-side staging still overlaps.
class AotiRunner final : public ModelRunner {
 public:
  explicit AotiRunner(const std::string& path) : loader_(path) {}

  std::vector<at::Tensor> Run(const at::Tensor& input) override {
    std::vector<at::Tensor> inputs{input};
    std::lock_guard<std::mutex> lock(mutex_);
    return loader_.run(inputs);  // on the current stream (set by the worker's StreamGuard)
  }

 private:
  std::mutex mutex_;
  torch::inductor::AOTIModelPackageLoader loader_;
};
#endif

struct TorchModel final : LoadedModel {
  explicit TorchModel(const ModelConfig& config) : LoadedModel(config) {}
  std::string format;
  std::unique_ptr<ModelRunner> runner;  // Run is safe from several workers (see ModelRunner)
  c10::ScalarType input_scalar = c10::ScalarType::Float;
};

struct Settings {
  int streams = 1;
  int max_batch = 32;
  int max_in_flight = 2;
  bool freeze = true;
  bool optimize = false;
  long test_fail_batch = -1;
};

// On SyncEngine: one worker per stream (Settings::streams), each running its batches on its own stream.
class TorchEngine final : public SyncEngine {
 public:
  TorchEngine(DeviceInfo info, c10::Device device, Settings settings)
      : SyncEngine(std::move(info), SyncEngineLimits{.max_batch = settings.max_batch,
                                                     .max_in_flight = settings.max_in_flight,
                                                     .workers = settings.streams}),
        device_(device),
        settings_(settings),
        streams_(static_cast<size_t>(settings.streams)) {
    // Workers are already waiting, but run nothing before the first Submit or Warmup, which cannot come
    // before this constructor returns; after that each worker reads only its own stream.
    if (!device_.is_cuda()) return;
    try {
      c10::impl::VirtualGuardImpl guard_impl(c10::DeviceType::CUDA);
      for (auto& stream : streams_)
        stream = guard_impl.getStreamFromGlobalPool(device_, /*isHighPriority=*/false);
    } catch (const c10::Error& e) {
      MarkFailed(std::string("cannot create a CUDA stream: ") + ErrorLineOf(e.what_without_backtrace()));
    }
  }
  ~TorchEngine() override { Shutdown(); }

  bool Supports(const ModelConfig& model) const override {
    const Artifact* artifact = model.ArtifactFor("nvidia");
    if (artifact == nullptr) return false;
    return artifact->format == "torchscript" || (artifact->format == "pt2" && ACCEL_TORCH_HAS_AOTI);
  }

  // The profiling graph executor specialises on its first runs, so the warmup batch runs twice.
  Status Warmup(const std::string& model, int batch_size) override {
    for (int round = 0; round < 2; ++round) ACCEL_RETURN_IF_ERROR(SyncEngine::Warmup(model, batch_size));
    return Status::Ok();
  }

 protected:
  StatusOr<std::shared_ptr<const LoadedModel>> LoadModel(const ModelConfig& model) override {
    const Artifact* artifact = model.ArtifactFor("nvidia");
    if (artifact == nullptr) return NotFound("model " + model.name + " has no nvidia artifact");
    std::optional<c10::ScalarType> scalar = ToScalarType(model.input.dtype);
    if (!scalar) return InvalidArgument("unsupported input dtype for model " + model.name);
    std::error_code ec;
    if (!std::filesystem::is_regular_file(artifact->path, ec)) {
      return NotFound("nvidia artifact of model " + model.name + " not found: " + artifact->path.string() +
                      " (make it with scripts/convert_yolox_torchscript.py; see docs/nvidia.md)");
    }
    auto loaded = std::make_shared<TorchModel>(model);
    loaded->format = artifact->format;
    loaded->input_scalar = *scalar;
    try {
      if (artifact->format == "torchscript") {
        torch::jit::Module module = torch::jit::load(artifact->path.string(), device_);
        module.eval();
        if (settings_.freeze) module = torch::jit::freeze(module);
        if (settings_.optimize) module = torch::jit::optimize_for_inference(module);
        loaded->runner = std::make_unique<ScriptRunner>(std::move(module));
      } else if (artifact->format == "pt2") {
#if ACCEL_TORCH_HAS_AOTI
        std::optional<c10::DeviceGuard> guard;
        if (device_.is_cuda()) guard.emplace(device_);
        loaded->runner = std::make_unique<AotiRunner>(artifact->path.string());
#else
        return Unimplemented("pt2 (AOTInductor) artifacts need libtorch >= 2.6; this build has " +
                             LibtorchVersion());
#endif
      } else {
        return InvalidArgument("nvidia artifact format '" + artifact->format +
                               "' is not supported (torchscript or pt2)");
      }
    } catch (const c10::Error& e) {
      return LoadError(model.name, e.what_without_backtrace());
    } catch (const std::exception& e) {
      return LoadError(model.name, e.what());
    }
    ACCEL_LOG(kInfo, kLog) << device().id << ": loaded " << model.name << " (" << artifact->format << ", "
                           << artifact->path.string() << ")";
    return std::shared_ptr<const LoadedModel>(std::move(loaded));
  }

  // Stages the inputs into one (pinned) host tensor, runs the model on this worker's stream and splits the
  // outputs per item. SyncEngine has checked the inputs and checks each item's outputs against model.yaml.
  StatusOr<std::vector<TensorList>> Run(const LoadedModel& base, const SyncBatch& batch) override {
    const auto& model = static_cast<const TorchModel&>(base);
    const std::vector<OutputSpec>& declared = model.config().outputs;
    const int64_t n = static_cast<int64_t>(batch.inputs.size());
    std::string error;
    // The batch's libtorch tensors live outside the try block so that, after a sticky CUDA error, they can
    // be kept from being freed (see KeepForever).
    at::Tensor host;
    at::Tensor input;
    std::vector<at::Tensor> outputs;
    std::vector<at::Tensor> host_outputs;
    try {
      long run_number = ++batches_started_;
      if (settings_.test_fail_batch > 0 && run_number == settings_.test_fail_batch) {
        TORCH_CHECK(false,
                    "CUDA error: an illegal memory access was encountered "
                    "(injected by test_fail_batch on the CPU test device)");
      }
      c10::InferenceMode inference_mode;
      const std::optional<c10::Stream>& stream = streams_[static_cast<size_t>(batch.worker)];
      std::optional<c10::StreamGuard> stream_guard;
      if (stream) stream_guard.emplace(*stream);
      const bool cuda = device_.is_cuda();

      std::vector<int64_t> shape = model.item_input_shape();
      shape[0] = n;
      // Pinned host memory from libtorch's caching host allocator: the asynchronous copy below needs it,
      // and the allocator keeps the block alive until the copy on this stream has finished.
      host = at::empty(shape, at::TensorOptions().dtype(model.input_scalar).pinned_memory(cuda));
      const size_t item_bytes = batch.inputs[0]->byte_size();
      auto* dst = static_cast<uint8_t*>(host.data_ptr());
      for (int64_t j = 0; j < n; ++j) std::memcpy(dst + j * item_bytes, batch.inputs[j]->bytes(), item_bytes);
      input = cuda ? host.to(device_, /*non_blocking=*/true) : host;

      outputs = model.runner->Run(input);

      for (size_t k = 0; k < outputs.size(); ++k) {
        const at::Tensor& out = outputs[k];
        // Splitting per item needs the batch dimension first; the rest is SyncEngine's output check.
        if (out.dim() < 1 || out.size(0) != n) {
          throw std::runtime_error("output " + std::to_string(k) + " has shape " +
                                   ShapeToString(out.sizes().vec()) + " for a batch of " + std::to_string(n));
        }
        if (!FromScalarType(out.scalar_type())) {
          throw std::runtime_error("output " + std::to_string(k) + " has an unsupported dtype");
        }
        if (cuda) {
          at::Tensor staged = at::empty(out.sizes(), out.options().device(c10::kCPU).pinned_memory(true));
          staged.copy_(out, /*non_blocking=*/true);
          host_outputs.push_back(std::move(staged));
        } else {
          host_outputs.push_back(out.contiguous());
        }
      }
      if (stream) stream->synchronize();

      std::vector<TensorList> results(static_cast<size_t>(n));
      for (int64_t j = 0; j < n; ++j) {
        for (size_t k = 0; k < host_outputs.size(); ++k) {
          const at::Tensor& out = host_outputs[k];
          std::vector<int64_t> item_shape = out.sizes().vec();
          item_shape[0] = 1;
          std::string name = k < declared.size() ? declared[k].name : "output" + std::to_string(k);
          Tensor tensor(*FromScalarType(out.scalar_type()), item_shape, name);
          const auto* src = static_cast<const uint8_t*>(out.data_ptr());
          std::memcpy(tensor.bytes(), src + j * tensor.byte_size(), tensor.byte_size());
          results[static_cast<size_t>(j)].push_back(std::move(tensor));
        }
      }
      return results;
    } catch (const c10::Error& e) {
      error = e.what_without_backtrace();
    } catch (const std::exception& e) {
      error = e.what();
    }
    TorchErrorKind kind = ClassifyTorchError(error);
    if (kind == TorchErrorKind::kCudaError) {
      MarkFailed(ErrorLineOf(error));
      if (device_.is_cuda()) {
        std::vector<at::Tensor> tensors{std::move(host), std::move(input)};
        for (auto* list : {&outputs, &host_outputs}) {
          for (at::Tensor& t : *list) tensors.push_back(std::move(t));
        }
        KeepForever(std::move(tensors));
      }
    }
    ACCEL_LOG(kWarn, kLog) << device().id << ": batch of " << n << " failed (" << TorchErrorKindName(kind)
                           << "): " << ErrorLineOf(error);
    return TorchErrorStatus(kind, device().id, error);
  }

  void AddTelemetry(EngineStats& stats) const override {
    if (!device_.is_cuda()) return;
    std::lock_guard<std::mutex> lock(reading_mutex_);
    auto now = std::chrono::steady_clock::now();
    // NVML is a driver call, not a GPU round trip; still, read it at most once a second.
    if (!reading_time_ || now - *reading_time_ > std::chrono::seconds(1)) {
      reading_ = Nvml::Get().Read(device_.index());
      reading_time_ = now;
    }
    if (reading_) {
      stats.temperature_c = reading_->temperature_c;
      stats.power_w = reading_->power_w;
      stats.utilization_percent = reading_->utilization_percent;
      stats.memory_used_mb = reading_->memory_used_mb;
      stats.memory_total_mb = reading_->memory_total_mb;
    }
  }

 private:
  // After a sticky CUDA error the device's context rejects every further CUDA call, and libtorch's caching
  // allocators record a CUDA event when they free a block that a stream used (the pinned staging buffers
  // of the asynchronous copies); that failure throws from the tensor's destructor, which ends the whole
  // process (std::terminate). So a failed batch's tensors are never freed: the device runs nothing more in
  // this process (it stays failed), and the leak is bounded by the batches in flight when it failed.
  static void KeepForever(std::vector<at::Tensor> tensors) {
    static std::mutex mutex;
    static auto* kept = new std::vector<at::Tensor>();  // never destroyed, on purpose
    std::lock_guard<std::mutex> lock(mutex);
    for (at::Tensor& t : tensors) kept->push_back(std::move(t));
  }

  Status LoadError(const std::string& model, const std::string& message) {
    TorchErrorKind kind = ClassifyTorchError(message);
    if (kind == TorchErrorKind::kCudaError) MarkFailed(ErrorLineOf(message));
    std::string text = "cannot load " + model + " on " + device().id + ": " + ErrorLineOf(message);
    if (kind == TorchErrorKind::kOther) return FailedPrecondition(text);
    return Unavailable(text);
  }

  const c10::Device device_;
  const Settings settings_;
  // One per worker, indexed by SyncBatch::worker; empty on the CPU. Written by the constructor only.
  std::vector<std::optional<c10::Stream>> streams_;
  std::atomic<long> batches_started_{0};  // Run calls, warmups included (test_fail_batch counts them)

  mutable std::mutex reading_mutex_;
  mutable std::optional<GpuReading> reading_;
  mutable std::optional<std::chrono::steady_clock::time_point> reading_time_;
};

std::string FormatNumber(double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%.0f", value);
  return buffer;
}

class TorchEngineFactory final : public EngineFactory {
 public:
  explicit TorchEngineFactory(bool expose_cpu_device) : expose_cpu_device_(expose_cpu_device) {}

  std::string kind() const override { return "nvidia"; }

  ProbeResult Probe() override {
    ProbeResult result;
    int count = 0;
    std::string reason;
    try {
      if (!LibtorchHasCuda()) {
        reason = "libtorch " + LibtorchVersion() + " built without CUDA";
      } else {
        count = static_cast<int>(torch::cuda::device_count());
        if (count == 0) {
          const char* visible = std::getenv("CUDA_VISIBLE_DEVICES");
          reason = "no CUDA device visible";
          if (visible != nullptr) reason += std::string(" (CUDA_VISIBLE_DEVICES=") + visible + ")";
          if (!Nvml::Get().available()) reason += "; " + Nvml::Get().unavailable_reason();
        }
      }
    } catch (const c10::Error& e) {
      reason = "CUDA initialisation failed: " + ErrorLineOf(e.what_without_backtrace());
      count = 0;
    }
    for (int i = 0; i < count; ++i) {
      DeviceInfo info;
      info.id = kGpuIdPrefix + std::to_string(i);
      info.kind = "nvidia";
      info.properties["index"] = std::to_string(i);
      info.properties["libtorch_version"] = LibtorchVersion();
      info.properties["is_available"] = "true";
      std::optional<GpuReading> reading = Nvml::Get().Read(i);
      info.name = reading && !reading->name.empty() ? reading->name : "CUDA device " + std::to_string(i);
      info.properties["name"] = info.name;
      if (reading) {
        if (reading->memory_total_mb >= 0)
          info.properties["memory_total_mb"] = FormatNumber(reading->memory_total_mb);
        if (reading->memory_used_mb >= 0)
          info.properties["memory_used_mb"] = FormatNumber(reading->memory_used_mb);
        if (reading->utilization_percent >= 0) {
          info.properties["utilization_percent"] = FormatNumber(reading->utilization_percent);
        }
        if (reading->temperature_c >= 0)
          info.properties["temperature_c"] = FormatNumber(reading->temperature_c);
      } else {
        info.properties["telemetry"] = Nvml::Get().available() ? "NVML has no reading for this device"
                                                               : Nvml::Get().unavailable_reason();
      }
      result.devices.push_back(std::move(info));
    }
    if (expose_cpu_device_) {
      DeviceInfo info;
      info.id = kCpuDeviceId;
      info.kind = "nvidia";
      info.name = "libtorch CPU (test mode, not a GPU)";
      info.test_only = true;
      info.properties["mode"] = "cpu-test";
      info.properties["libtorch_version"] = LibtorchVersion();
      result.devices.push_back(std::move(info));
    }
    result.unavailable_reason = reason;
    return result;
  }

  std::vector<EngineOptionSpec> OptionSpecs() const override { return NvidiaOptionSpecs(); }

  StatusOr<std::unique_ptr<Engine>> Create(const DeviceInfo& device, const EngineOptions& options) override {
    const bool cpu = device.id == kCpuDeviceId;
    if (cpu && !expose_cpu_device_) {
      return NotFound("device " + device.id + " exists only when the CPU test device is enabled");
    }
    int index = -1;
    if (!cpu) {
      if (device.id.rfind(kGpuIdPrefix, 0) != 0) return NotFound("not an nvidia device: " + device.id);
      char* end = nullptr;
      std::string digits = device.id.substr(std::strlen(kGpuIdPrefix));
      long parsed = std::strtol(digits.c_str(), &end, 10);
      if (digits.empty() || *end != '\0' || parsed < 0) return NotFound("not an nvidia device: " + device.id);
      index = static_cast<int>(parsed);
      try {
        if (!LibtorchHasCuda() || index >= static_cast<int>(torch::cuda::device_count())) {
          return NotFound("no CUDA device " + std::to_string(index) + " in this process");
        }
      } catch (const c10::Error& e) {
        return Unavailable("CUDA initialisation failed: " + ErrorLineOf(e.what_without_backtrace()));
      }
    }
    ACCEL_ASSIGN_OR_RETURN(ValidatedEngineOptions o, ValidateEngineOptions(kind(), OptionSpecs(), options));
    Settings settings;
    settings.streams = o.Has("streams") ? static_cast<int>(o.Int("streams")) : (cpu ? 1 : 2);
    settings.max_batch = static_cast<int>(o.Int("max_batch"));
    settings.max_in_flight = static_cast<int>(o.Int("max_in_flight"));
    settings.freeze = o.Bool("freeze");
    settings.optimize = o.Bool("optimize");
    const int threads = static_cast<int>(o.Int("threads"));
    const int fail_batch = static_cast<int>(o.Int("test_fail_batch"));
    if (fail_batch > 0 && !cpu) {
      return InvalidArgument("nvidia.test_fail_batch is only accepted on the CPU test device");
    }
    settings.test_fail_batch = fail_batch;
    if (threads > 0) at::set_num_threads(threads);
    // libtorch lets cuDNN use TF32 unless told otherwise; that alone moves YOLOX's box outputs by more than
    // the 1e-3 the differential test allows, so full float32 is the default and TF32 a choice.
    if (!cpu) {
      at::globalContext().setAllowTF32CuDNN(o.Bool("tf32"));
      at::globalContext().setAllowTF32CuBLAS(o.Bool("tf32"));
    }
    c10::Device torch_device =
        cpu ? c10::Device(c10::kCPU) : c10::Device(c10::kCUDA, static_cast<c10::DeviceIndex>(index));
    ACCEL_LOG(kInfo, kLog) << "creating " << device.id << " (" << device.name << "), libtorch "
                           << LibtorchVersion() << ", " << settings.streams << " stream(s)";
    return std::unique_ptr<Engine>(std::make_unique<TorchEngine>(device, torch_device, settings));
  }

 private:
  const bool expose_cpu_device_;
};

}  // namespace

std::unique_ptr<EngineFactory> MakeTorchEngineFactory(bool expose_cpu_device) {
  return std::make_unique<TorchEngineFactory>(expose_cpu_device);
}

}  // namespace accel
