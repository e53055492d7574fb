// The only translation unit of the engine that includes libtorch (its headers cost ~20 s of compile time
// each). CUDA is reached only through libtorch's device-generic API (c10::Device, c10::Stream,
// c10::StreamGuard, pinned host tensors), so this file compiles against a CPU-only libtorch such as
// Debian's and runs on GPUs when linked against a CUDA build (e.g. the PyTorch wheel's libtorch).
#include "engines/nvidia/torch_engine.h"

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
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include "core/logging.h"
#include "engines/nvidia/nvml.h"
#include "engines/nvidia/torch_errors.h"

// AOTInductor packages (.pt2) need libtorch 2.6 or newer; older builds refuse the format at load time.
#if (TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 6)) && \
    __has_include(<torch/csrc/inductor/aoti_package/model_package_loader.h>)
#include <torch/csrc/inductor/aoti_package/model_package_loader.h>
#define ACCEL_TORCH_HAS_AOTI 1
#else
#define ACCEL_TORCH_HAS_AOTI 0
#endif

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

StatusOr<int> IntOption(const EngineOptions& options, const std::string& key, int fallback, int min,
                        int max) {
  std::string text = options.Get(key);
  if (text.empty()) return fallback;
  char* end = nullptr;
  long value = std::strtol(text.c_str(), &end, 10);
  if (end == text.c_str() || *end != '\0' || value < min || value > max) {
    return InvalidArgument("nvidia engine option " + key + "=" + text + ": expected an integer in [" +
                           std::to_string(min) + ", " + std::to_string(max) + "]");
  }
  return static_cast<int>(value);
}

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

struct LoadedModel {
  std::string name;
  std::string format;
  std::unique_ptr<ModelRunner> runner;
  std::vector<int64_t> item_shape;  // [1, ...InputItemShape()]
  DType input_dtype = DType::kFloat32;
  c10::ScalarType input_scalar = c10::ScalarType::Float;
  std::vector<OutputSpec> outputs;  // per-item shapes without the batch dimension
};

struct Job {
  std::shared_ptr<LoadedModel> model;
  std::vector<BatchItem> items;
};

struct Settings {
  int streams = 1;
  int max_batch = 32;
  int max_in_flight = 2;
  bool freeze = true;
  bool optimize = false;
  long test_fail_batch = -1;
};

class TorchEngine final : public Engine {
 public:
  TorchEngine(DeviceInfo info, c10::Device device, Settings settings)
      : info_(std::move(info)), device_(device), settings_(settings) {
    for (int i = 0; i < settings_.streams; ++i) workers_.emplace_back([this] { WorkerLoop(); });
  }
  ~TorchEngine() override { Shutdown(); }

  const DeviceInfo& device() const override { return info_; }

  EngineCapabilities capabilities() const override {
    EngineCapabilities caps;
    caps.max_batch = settings_.max_batch;
    caps.max_in_flight = settings_.max_in_flight;
    caps.async = true;
    return caps;
  }

  bool Supports(const ModelConfig& model) const override {
    const Artifact* artifact = model.ArtifactFor("nvidia");
    if (artifact == nullptr) return false;
    return artifact->format == "torchscript" || (artifact->format == "pt2" && ACCEL_TORCH_HAS_AOTI);
  }

  Status Load(const ModelConfig& model) override {
    const Artifact* artifact = model.ArtifactFor("nvidia");
    if (artifact == nullptr) return NotFound("model " + model.name + " has no nvidia artifact");
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (failed_) return Unavailable(info_.id + " failed: " + failed_reason_);
    }
    std::optional<c10::ScalarType> scalar = ToScalarType(model.input.dtype);
    if (!scalar) return InvalidArgument("unsupported input dtype for model " + model.name);
    std::error_code ec;
    if (!std::filesystem::is_regular_file(artifact->path, ec)) {
      return NotFound("nvidia artifact of model " + model.name + " not found: " + artifact->path.string() +
                      " (make it with scripts/convert_yolox_torchscript.py; see docs/nvidia.md)");
    }
    auto loaded = std::make_shared<LoadedModel>();
    loaded->name = model.name;
    loaded->format = artifact->format;
    loaded->item_shape = {1};
    for (int64_t d : model.InputItemShape()) loaded->item_shape.push_back(d);
    loaded->input_dtype = model.input.dtype;
    loaded->input_scalar = *scalar;
    loaded->outputs = model.outputs;
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
    ACCEL_LOG(kInfo, kLog) << info_.id << ": loaded " << model.name << " (" << artifact->format << ", "
                           << artifact->path.string() << ")";
    std::lock_guard<std::mutex> lock(mutex_);
    models_[model.name] = std::move(loaded);
    return Status::Ok();
  }

  Status Unload(const std::string& model) override {
    std::lock_guard<std::mutex> lock(mutex_);
    // Batches already queued hold their own reference; the module is freed when the last one finishes.
    if (models_.erase(model) == 0) return NotFound("model " + model + " is not loaded on " + info_.id);
    return Status::Ok();
  }

  Status Warmup(const std::string& model, int batch_size) override {
    if (batch_size < 1 || batch_size > settings_.max_batch) {
      return InvalidArgument("warmup batch size " + std::to_string(batch_size) + " outside [1, " +
                             std::to_string(settings_.max_batch) + "]");
    }
    std::shared_ptr<LoadedModel> loaded;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      auto it = models_.find(model);
      if (it == models_.end()) return NotFound("model " + model + " is not loaded on " + info_.id);
      loaded = it->second;
    }
    auto input = std::make_shared<Tensor>(loaded->input_dtype, loaded->item_shape);
    input->Fill(0);
    // The profiling graph executor specialises on its first runs, so run twice.
    for (int round = 0; round < 2; ++round) {
      struct Waiter {
        std::mutex mutex;
        std::condition_variable cv;
        int remaining = 0;
        Status first_error;
      };
      auto waiter = std::make_shared<Waiter>();
      waiter->remaining = batch_size;
      Job job;
      job.model = loaded;
      for (int i = 0; i < batch_size; ++i) {
        job.items.push_back(BatchItem{input, [waiter](StatusOr<TensorList> result) {
                                        std::lock_guard<std::mutex> lock(waiter->mutex);
                                        if (!result.ok() && waiter->first_error.ok()) {
                                          waiter->first_error = result.status();
                                        }
                                        if (--waiter->remaining == 0) waiter->cv.notify_all();
                                      }});
      }
      {
        std::lock_guard<std::mutex> lock(mutex_);
        if (stopping_) return Unavailable(info_.id + " is shut down");
        if (failed_) return Unavailable(info_.id + " failed: " + failed_reason_);
        // Warmup bypasses the in-flight limit: it comes from the control thread, not the worker.
        ++in_flight_;
        queue_.push_back(std::move(job));
      }
      cv_.notify_one();
      std::unique_lock<std::mutex> lock(waiter->mutex);
      waiter->cv.wait(lock, [&] { return waiter->remaining == 0; });
      if (!waiter->first_error.ok()) return waiter->first_error.WithContext("warmup of " + model);
    }
    return Status::Ok();
  }

  Status Submit(Batch& batch) override {
    if (batch.items.empty()) return InvalidArgument("empty batch");
    if (static_cast<int>(batch.items.size()) > settings_.max_batch) {
      return InvalidArgument("batch of " + std::to_string(batch.items.size()) + " exceeds max_batch " +
                             std::to_string(settings_.max_batch) + " of " + info_.id);
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (stopping_) return Unavailable(info_.id + " is shut down");
      if (failed_) return Unavailable(info_.id + " failed: " + failed_reason_);
      auto it = models_.find(batch.model);
      if (it == models_.end()) return NotFound("model " + batch.model + " is not loaded on " + info_.id);
      if (in_flight_ >= settings_.max_in_flight) {
        return ResourceExhausted(info_.id + " already has " + std::to_string(in_flight_) +
                                 " batches in flight");
      }
      Job job;
      job.model = it->second;
      job.items = std::move(batch.items);
      batch.items.clear();
      ++in_flight_;
      queue_.push_back(std::move(job));
    }
    cv_.notify_one();
    return Status::Ok();
  }

  EngineHealth Health() const override {
    std::lock_guard<std::mutex> lock(mutex_);
    EngineHealth health;
    if (failed_) {
      health.state = HealthState::kFailed;
      health.reason = failed_reason_;
    } else if (stopping_) {
      health.state = HealthState::kFailed;
      health.reason = "shut down";
    }
    return health;
  }

  EngineStats Stats() const override {
    EngineStats stats;
    stats.batches_executed = batches_.load();
    stats.items_executed = items_.load();
    stats.failures = failures_.load();
    if (device_.is_cuda()) {
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
    return stats;
  }

  void Shutdown() override {
    std::deque<Job> dropped;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (stopping_ && workers_.empty()) return;
      stopping_ = true;
      dropped.swap(queue_);
      in_flight_ -= static_cast<int>(dropped.size());
    }
    cv_.notify_all();
    for (Job& job : dropped) FailJob(job, Unavailable(info_.id + " shut down before running the batch"));
    for (std::thread& worker : workers_) {
      if (worker.joinable()) worker.join();
    }
    std::lock_guard<std::mutex> lock(mutex_);
    workers_.clear();
    models_.clear();
  }

 private:
  using Results = std::vector<std::optional<StatusOr<TensorList>>>;

  Status LoadError(const std::string& model, const std::string& message) {
    TorchErrorKind kind = ClassifyTorchError(message);
    if (kind == TorchErrorKind::kCudaError) MarkFailed(FirstLineOf(message));
    std::string text = "cannot load " + model + " on " + info_.id + ": " + FirstLineOf(message);
    if (kind == TorchErrorKind::kOther) return FailedPrecondition(text);
    return Unavailable(text);
  }

  // Sticky: a failed device never runs again in this engine's lifetime.
  void MarkFailed(const std::string& reason) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (failed_) return;
    failed_ = true;
    failed_reason_ = reason;
    ACCEL_LOG(kError, kLog) << info_.id << " failed and is left out until recreated: " << reason;
  }

  static void FailJob(Job& job, const Status& status) {
    for (BatchItem& item : job.items) {
      if (item.done) item.done(status);
    }
  }

  // One per stream. Each owns a stream from libtorch's pool for the device and runs jobs in order.
  void WorkerLoop() {
    std::optional<c10::Stream> stream;
    if (device_.is_cuda()) {
      try {
        c10::impl::VirtualGuardImpl guard_impl(c10::DeviceType::CUDA);
        stream = guard_impl.getStreamFromGlobalPool(device_, /*isHighPriority=*/false);
      } catch (const c10::Error& e) {
        MarkFailed(std::string("cannot create a CUDA stream: ") + FirstLineOf(e.what_without_backtrace()));
      }
    }
    for (;;) {
      Job job;
      bool failed = false;
      Status failed_status;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
        if (queue_.empty()) return;  // stopping and drained
        job = std::move(queue_.front());
        queue_.pop_front();
        failed = failed_;
        if (failed) failed_status = Unavailable(info_.id + " failed: " + failed_reason_);
      }
      Results results(job.items.size());
      if (failed) {
        for (auto& result : results) result.emplace(failed_status);
      } else {
        RunJob(job, stream, results);
      }
      {
        // Released before the callbacks so the scheduler may submit the next batch from inside them.
        std::lock_guard<std::mutex> lock(mutex_);
        --in_flight_;
      }
      for (size_t i = 0; i < job.items.size(); ++i) {
        if (job.items[i].done) job.items[i].done(std::move(*results[i]));
      }
    }
  }

  Status CheckItem(const LoadedModel& model, const BatchItem& item) const {
    if (!item.input) return InvalidArgument("batch item without input tensor");
    if (item.input->dtype() != model.input_dtype || item.input->shape() != model.item_shape) {
      return InvalidArgument("input " + item.input->Describe() + " does not match model " + model.name +
                             " (expects " + std::string(DTypeName(model.input_dtype)) +
                             ShapeToString(model.item_shape) + ")");
    }
    return Status::Ok();
  }

  void RunJob(Job& job, std::optional<c10::Stream>& stream, Results& results) {
    const LoadedModel& model = *job.model;
    std::vector<size_t> valid;
    for (size_t i = 0; i < job.items.size(); ++i) {
      Status status = CheckItem(model, job.items[i]);
      if (status.ok()) {
        valid.push_back(i);
      } else {
        results[i].emplace(status);
      }
    }
    if (valid.empty()) return;
    const int64_t n = static_cast<int64_t>(valid.size());
    std::string error;
    try {
      long run_number = ++batches_started_;
      if (settings_.test_fail_batch > 0 && run_number == settings_.test_fail_batch) {
        TORCH_CHECK(false,
                    "CUDA error: an illegal memory access was encountered "
                    "(injected by test_fail_batch on the CPU test device)");
      }
      c10::InferenceMode inference_mode;
      std::optional<c10::StreamGuard> stream_guard;
      if (stream) stream_guard.emplace(*stream);
      const bool cuda = device_.is_cuda();

      std::vector<int64_t> shape = model.item_shape;
      shape[0] = n;
      // Pinned host memory from libtorch's caching host allocator: the asynchronous copy below needs it,
      // and the allocator keeps the block alive until the copy on this stream has finished.
      at::Tensor host = at::empty(shape, at::TensorOptions().dtype(model.input_scalar).pinned_memory(cuda));
      const size_t item_bytes = job.items[valid[0]].input->byte_size();
      auto* dst = static_cast<uint8_t*>(host.data_ptr());
      for (int64_t j = 0; j < n; ++j) {
        std::memcpy(dst + j * item_bytes, job.items[valid[j]].input->bytes(), item_bytes);
      }
      at::Tensor input = cuda ? host.to(device_, /*non_blocking=*/true) : host;

      std::vector<at::Tensor> outputs = model.runner->Run(input);

      if (!model.outputs.empty() && outputs.size() != model.outputs.size()) {
        throw std::runtime_error("model returned " + std::to_string(outputs.size()) +
                                 " outputs, model.yaml declares " + std::to_string(model.outputs.size()));
      }
      std::vector<at::Tensor> host_outputs;
      for (size_t k = 0; k < outputs.size(); ++k) {
        const at::Tensor& out = outputs[k];
        if (out.dim() < 1 || out.size(0) != n) {
          throw std::runtime_error("output " + std::to_string(k) + " has shape " +
                                   ShapeToString(out.sizes().vec()) + " for a batch of " + std::to_string(n));
        }
        if (!model.outputs.empty()) {
          const std::vector<int64_t>& declared = model.outputs[k].shape;
          bool match = out.dim() == static_cast<int64_t>(declared.size()) + 1;
          for (size_t d = 0; match && d < declared.size(); ++d) {
            match = declared[d] < 0 || declared[d] == out.size(static_cast<int64_t>(d) + 1);
          }
          if (!match) {
            throw std::runtime_error("output " + std::to_string(k) + " has shape " +
                                     ShapeToString(out.sizes().vec()) + ", model.yaml declares [n]+" +
                                     ShapeToString(declared));
          }
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

      for (int64_t j = 0; j < n; ++j) {
        TensorList list;
        for (size_t k = 0; k < host_outputs.size(); ++k) {
          const at::Tensor& out = host_outputs[k];
          std::vector<int64_t> item_shape = out.sizes().vec();
          item_shape[0] = 1;
          std::string name = k < model.outputs.size() ? model.outputs[k].name : "output" + std::to_string(k);
          Tensor tensor(*FromScalarType(out.scalar_type()), item_shape, name);
          const auto* src = static_cast<const uint8_t*>(out.data_ptr());
          std::memcpy(tensor.bytes(), src + j * tensor.byte_size(), tensor.byte_size());
          list.push_back(std::move(tensor));
        }
        results[valid[j]].emplace(std::move(list));
      }
      ++batches_;
      items_ += static_cast<uint64_t>(n);
      return;
    } catch (const c10::Error& e) {
      error = e.what_without_backtrace();
    } catch (const std::exception& e) {
      error = e.what();
    }
    ++failures_;
    TorchErrorKind kind = ClassifyTorchError(error);
    if (kind == TorchErrorKind::kCudaError) MarkFailed(FirstLineOf(error));
    ACCEL_LOG(kWarn, kLog) << info_.id << ": batch of " << n << " failed (" << TorchErrorKindName(kind)
                           << "): " << FirstLineOf(error);
    Status status = TorchErrorStatus(kind, info_.id, error);
    for (size_t i : valid) results[i].emplace(status);
  }

  const DeviceInfo info_;
  const c10::Device device_;
  const Settings settings_;

  mutable std::mutex mutex_;  // guards everything below up to the atomics
  std::condition_variable cv_;
  std::deque<Job> queue_;
  int in_flight_ = 0;  // queued + running batches
  bool stopping_ = false;
  bool failed_ = false;
  std::string failed_reason_;
  std::map<std::string, std::shared_ptr<LoadedModel>> models_;
  std::vector<std::thread> workers_;

  std::atomic<uint64_t> batches_{0};
  std::atomic<uint64_t> items_{0};
  std::atomic<uint64_t> failures_{0};
  std::atomic<long> batches_started_{0};

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
      reason = "CUDA initialisation failed: " + FirstLineOf(e.what_without_backtrace());
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
        return Unavailable("CUDA initialisation failed: " + FirstLineOf(e.what_without_backtrace()));
      }
    }
    Settings settings;
    ACCEL_ASSIGN_OR_RETURN(settings.streams, IntOption(options, "streams", cpu ? 1 : 2, 1, 8));
    ACCEL_ASSIGN_OR_RETURN(settings.max_batch, IntOption(options, "max_batch", 32, 1, 1024));
    ACCEL_ASSIGN_OR_RETURN(settings.max_in_flight, IntOption(options, "max_in_flight", 2, 1, 16));
    ACCEL_ASSIGN_OR_RETURN(int freeze, IntOption(options, "freeze", 1, 0, 1));
    ACCEL_ASSIGN_OR_RETURN(int optimize, IntOption(options, "optimize", 0, 0, 1));
    ACCEL_ASSIGN_OR_RETURN(int threads, IntOption(options, "threads", 0, 0, 1024));
    ACCEL_ASSIGN_OR_RETURN(int fail_batch, IntOption(options, "test_fail_batch", -1, -1, 1 << 30));
    settings.freeze = freeze != 0;
    settings.optimize = optimize != 0;
    if (fail_batch > 0 && !cpu) {
      return InvalidArgument("test_fail_batch is only accepted on the CPU test device");
    }
    settings.test_fail_batch = fail_batch;
    if (threads > 0) at::set_num_threads(threads);
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
