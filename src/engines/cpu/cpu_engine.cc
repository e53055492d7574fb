// cpu engine: OpenCV DNN (CPU backend) or XNNPACK (xnnpack_net.h) running the model's `cpu` ONNX artifact,
// or libtorch running its TorchScript artifact.
//
// Built on SyncEngine. Latency mode (default): one worker thread executes batches in order and OpenCV
// parallelises each forward pass over its thread pool (cv::setNumThreads). Throughput mode: `instances`
// workers, each with its own copy of the network, run that many inferences at once with fewer threads each
// (OpenCV's thread count is process-wide; each XNNPACK network has its own pool of that many threads);
// the scheduler sees the extra concurrency as max_in_flight. A model with a TorchScript artifact may instead
// be served by libtorch (the nvidia engine's code on the CPU, an inner engine created through
// LibtorchCpuEngineMaker): which runtime serves each model is decided at load (cpu_runtime_choice.h), so
// the scheduler sees one CPU device whatever runs behind it. Each model is rewritten at load for OpenCV
// (onnx_graph_rewrite.h, through CpuNet) unless graph_rewrite is off. Batches are of one item: on this
// backend a larger batch gives no gain per image (measured, DESIGN.md), and a fixed-batch ONNX file
// silently returns garbage for batch > 1.
#include "engines/cpu/cpu_engine.h"

#include <opencv2/core.hpp>
#include <opencv2/core/utility.hpp>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <fstream>
#include <future>
#include <mutex>
#include <thread>

#include "core/logging.h"
#include "engines/cpu/cpu_net.h"
#include "engines/cpu/cpu_runtime_choice.h"
#include "engines/cpu/xnnpack_net.h"
#include "engines/sync_engine.h"

namespace accel {
namespace {

std::string ReadCpuModelName() {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("model name", 0) == 0) {
      auto pos = line.find(':');
      if (pos != std::string::npos) return line.substr(line.find_first_not_of(' ', pos + 1));
    }
  }
  return "unknown CPU";
}

long ReadMemTotalMb() {
  std::ifstream in("/proc/meminfo");
  std::string key;
  long kb = 0;
  std::string unit;
  while (in >> key >> kb >> unit) {
    if (key == "MemTotal:") return kb / 1024;
  }
  return -1;
}

// Host telemetry for /ai/hardware and /metrics: CPU utilisation from /proc/stat deltas, memory from
// /proc/meminfo, temperature from the first thermal zone when the machine exposes one. Cached for half a
// second so scrapes stay cheap.
class HostTelemetry {
 public:
  void Fill(EngineStats& stats) {
    std::lock_guard<std::mutex> lock(mutex_);
    const auto now = std::chrono::steady_clock::now();
    if (now - last_read_ >= std::chrono::milliseconds(500)) {
      last_read_ = now;
      Refresh();
    }
    stats.utilization_percent = utilization_percent_;
    stats.memory_used_mb = memory_used_mb_;
    stats.memory_total_mb = memory_total_mb_;
    stats.temperature_c = temperature_c_;
  }

 private:
  void Refresh() {
    std::ifstream stat("/proc/stat");
    std::string cpu;
    uint64_t user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0;
    if (stat >> cpu >> user >> nice >> system >> idle >> iowait >> irq >> softirq >> steal && cpu == "cpu") {
      const uint64_t idle_all = idle + iowait;
      const uint64_t total = user + nice + system + idle_all + irq + softirq + steal;
      if (last_total_ > 0 && total > last_total_)
        utilization_percent_ =
            100.0 * (1.0 - static_cast<double>(idle_all - last_idle_) / (total - last_total_));
      last_total_ = total;
      last_idle_ = idle_all;
    }
    std::ifstream meminfo("/proc/meminfo");
    std::string key, unit;
    long kb = 0, total_kb = -1, available_kb = -1;
    while (meminfo >> key >> kb >> unit) {
      if (key == "MemTotal:") total_kb = kb;
      if (key == "MemAvailable:") available_kb = kb;
    }
    if (total_kb > 0) memory_total_mb_ = total_kb / 1024.0;
    if (total_kb > 0 && available_kb >= 0) memory_used_mb_ = (total_kb - available_kb) / 1024.0;
    std::ifstream thermal("/sys/class/thermal/thermal_zone0/temp");
    long milli_c = 0;
    if (thermal >> milli_c) temperature_c_ = milli_c / 1000.0;
  }

  std::mutex mutex_;
  std::chrono::steady_clock::time_point last_read_{};
  uint64_t last_total_ = 0, last_idle_ = 0;
  double utilization_percent_ = -1, memory_used_mb_ = -1, memory_total_mb_ = -1, temperature_c_ = -1;
};

// How the engine spends the cores: one inference at a time with every thread (latency), or several
// independent network instances, each run by its own worker thread with fewer threads (throughput).
struct CpuRunPlan {
  bool throughput = false;
  int instances = 1;             // workers and network copies
  int threads_per_instance = 1;  // OpenCV's thread count (process-wide, so the same for every instance)
  bool graph_rewrite = true;
  CpuRuntime runtime = CpuRuntime::kAuto;  // the engine option; model.yaml's cpu.runtime wins
};

// The nvidia engine's most streams (worker threads), nvidia_options.h.
constexpr int kMaxLibtorchInstances = 8;

// Timed runs per runtime when `auto` measures the runtimes at load (after one untimed run each); the median
// counts.
constexpr int kTimedRunsPerRuntime = 5;

double MedianOf(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const size_t n = values.size();
  return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

// Runs one item on an (asynchronous) engine and waits for it: the libtorch runtime is an inner engine.
StatusOr<TensorList> RunOneOn(Engine& engine, const std::string& model, std::shared_ptr<const Tensor> input) {
  auto promise = std::make_shared<std::promise<StatusOr<TensorList>>>();
  std::future<StatusOr<TensorList>> future = promise->get_future();
  Batch batch;
  batch.model = model;
  batch.items.push_back(BatchItem{
      std::move(input), [promise](StatusOr<TensorList> outputs) { promise->set_value(std::move(outputs)); }});
  ACCEL_RETURN_IF_ERROR(engine.Submit(batch));
  return future.get();
}

struct CpuModel final : LoadedModel {
  explicit CpuModel(const ModelConfig& config) : LoadedModel(config) {}
  // One network per worker: a cv::dnn::Net is not thread-safe (forward mutates it), so worker w only ever
  // runs nets[w].
  std::vector<std::unique_ptr<CpuNet>> nets;              // OpenCV: empty unless OpenCV serves the model
  std::vector<std::unique_ptr<XnnpackNet>> xnnpack_nets;  // the same rule for XNNPACK
  Engine* libtorch = nullptr;  // the inner libtorch engine when it serves the model
  std::string runtime_note;    // "opencv: auto: measured ..." for /ai/engines
};

class CpuEngine final : public SyncEngine {
 public:
  // Each worker has one batch running; one more is queued so the next batch is ready the moment a worker
  // is free. In throughput mode the scheduler thus sees instances + 1 batches in flight.
  CpuEngine(DeviceInfo info, CpuRunPlan plan, LibtorchCpuEngineMaker libtorch_maker)
      : SyncEngine(
            std::move(info),
            SyncEngineLimits{.max_batch = 1, .max_in_flight = plan.instances + 1, .workers = plan.instances}),
        plan_(plan),
        libtorch_maker_(std::move(libtorch_maker)) {}
  ~CpuEngine() override {
    Shutdown();  // first: no worker may still be waiting on the inner engine when it goes
    if (libtorch_) libtorch_->Shutdown();
  }

  bool Supports(const ModelConfig& model) const override {
    const Artifact* a = model.ArtifactFor("cpu");
    return (a != nullptr && a->format == "onnx") || HasTorchScript(model);
  }

 protected:
  StatusOr<std::shared_ptr<const LoadedModel>> LoadModel(const ModelConfig& model) override {
    CpuRuntimeInputs in;
    in.requested = plan_.runtime;
    in.requested_by = "--cpu-runtime/CPU_RUNTIME";
    if (!model.cpu_runtime.empty()) {
      ACCEL_ASSIGN_OR_RETURN(in.requested, ParseCpuRuntime(model.cpu_runtime, "model.yaml cpu.runtime"));
      in.requested_by = "model.yaml";
    }
    const Artifact* onnx = model.ArtifactFor("cpu");
    in.has_onnx = onnx != nullptr && onnx->format == "onnx";
    in.has_torchscript = HasTorchScript(model);
    // The plugin is loaded only for a model libtorch could serve and that is not pinned to OpenCV.
    if (in.has_torchscript && in.requested != CpuRuntime::kOpencv) {
      StatusOr<Engine*> engine = LibtorchEngine();
      if (!engine.ok()) in.libtorch_unavailable = engine.status().message();
    }
    // XNNPACK is tried where it could serve: a graph it does not support is refused here, naming the node.
    auto loaded = std::make_shared<CpuModel>(model);
    if (in.has_onnx && (in.requested == CpuRuntime::kAuto || in.requested == CpuRuntime::kXnnpack)) {
      Status xnnpack = LoadXnnpack(model, *loaded);
      in.xnnpack_loaded = xnnpack.ok();
      if (!xnnpack.ok()) {
        in.xnnpack_refused = xnnpack.message();
        loaded->xnnpack_nets.clear();
        ACCEL_LOG(kInfo, "cpu") << "model " << model.name << ": " << in.xnnpack_refused;
      }
    }
    CpuRuntimeDecision decision = ChooseCpuRuntime(in);
    if (!decision.status.ok()) return decision.status.WithContext("model '" + model.name + "'");
    const bool measure = NeedsMeasurement(in);
    const auto candidates = CpuRuntimeCandidates(in);
    auto measured = [&](CpuRuntime r) {
      return measure && std::find(candidates.begin(), candidates.end(), r) != candidates.end();
    };
    if (decision.runtime == CpuRuntime::kOpencv || measured(CpuRuntime::kOpencv)) {
      ACCEL_RETURN_IF_ERROR(LoadOpencv(model, *loaded));
    }
    if (decision.runtime == CpuRuntime::kLibtorch || measured(CpuRuntime::kLibtorch)) {
      ACCEL_RETURN_IF_ERROR(libtorch_->Load(model).WithContext("libtorch cpu runtime"));
      ACCEL_RETURN_IF_ERROR(libtorch_->Warmup(model.name, 1).WithContext("libtorch cpu runtime"));
    }
    if (measure) {
      ACCEL_RETURN_IF_ERROR(MeasureAll(*loaded, measured(CpuRuntime::kLibtorch), in));
      decision = ChooseCpuRuntime(in);
    }
    // Only the chosen runtime keeps its networks: the others' memory goes now.
    if (decision.runtime != CpuRuntime::kOpencv) loaded->nets.clear();
    if (decision.runtime != CpuRuntime::kXnnpack) loaded->xnnpack_nets.clear();
    if (decision.runtime == CpuRuntime::kLibtorch) {
      loaded->libtorch = libtorch_.get();
    } else if (measured(CpuRuntime::kLibtorch)) {
      (void)libtorch_->Unload(model.name);  // measured and lost: only one runtime serves a model
    }
    loaded->runtime_note = std::string(CpuRuntimeName(decision.runtime)) + ": " + decision.reason;
    ACCEL_LOG(kInfo, "cpu") << "model " << model.name << ": runtime " << loaded->runtime_note;
    {
      std::lock_guard<std::mutex> lock(notes_mu_);
      runtime_notes_[model.name] = loaded->runtime_note;
    }
    return std::shared_ptr<const LoadedModel>(std::move(loaded));
  }

  StatusOr<const Artifact*> OnnxArtifact(const ModelConfig& model) {
    const Artifact* artifact = model.ArtifactFor("cpu");
    if (!artifact || artifact->format != "onnx")
      return FailedPrecondition("model '" + model.name + "' has no onnx artifact for the cpu engine");
    std::error_code ec;
    if (!std::filesystem::exists(artifact->path, ec))
      return NotFound("cpu artifact '" + artifact->path.string() + "' of model '" + model.name +
                      "' does not exist (run scripts/setup to link the default model)");
    return artifact;
  }

  // One XNNPACK network per worker, each with its own pool of threads_per_instance threads, warmed up.
  Status LoadXnnpack(const ModelConfig& model, CpuModel& loaded) {
    ACCEL_ASSIGN_OR_RETURN(const Artifact* artifact, OnnxArtifact(model));
    XnnpackNetOptions options;
    options.threads = plan_.threads_per_instance;
    options.cut_focus = options.cascade_max_pools = plan_.graph_rewrite;
    for (int i = 0; i < plan_.instances; ++i) {
      ACCEL_ASSIGN_OR_RETURN(std::unique_ptr<XnnpackNet> net,
                             XnnpackNet::Load(model, artifact->path, options));
      loaded.xnnpack_nets.push_back(std::move(net));
    }
    Tensor zeros(DType::kFloat32, loaded.item_input_shape(), model.input.name);
    zeros.Fill(0);
    for (auto& net : loaded.xnnpack_nets) ACCEL_RETURN_IF_ERROR(net->Run(zeros).status());
    ACCEL_LOG(kInfo, "cpu") << "model " << model.name
                            << ": xnnpack runtime: " << loaded.xnnpack_nets[0]->Summary();
    return Status::Ok();
  }

  Status LoadOpencv(const ModelConfig& model, CpuModel& loaded_model) {
    ACCEL_ASSIGN_OR_RETURN(const Artifact* artifact, OnnxArtifact(model));
    const OnnxRewriteOptions rewrite = plan_.graph_rewrite ? CpuNet::DefaultRewrite() : CpuNet::NoRewrite();
    CpuModel* loaded = &loaded_model;
    for (int i = 0; i < plan_.instances; ++i) {
      ACCEL_ASSIGN_OR_RETURN(std::unique_ptr<CpuNet> net, CpuNet::Load(model, artifact->path, rewrite));
      loaded->nets.push_back(std::move(net));
    }
    // Warmup (SyncEngine) reaches one worker's network; the others take their first-run costs (OpenCV's
    // buffer allocation) here instead of on a client's request.
    if (loaded->nets.size() > 1 && model.input.dtype == DType::kFloat32) {
      Tensor zeros(DType::kFloat32, loaded->item_input_shape(), model.input.name);
      zeros.Fill(0);
      for (size_t i = 1; i < loaded->nets.size(); ++i)
        ACCEL_RETURN_IF_ERROR(loaded->nets[i]->Run(zeros).status());
    }
    ACCEL_LOG(kInfo, "cpu") << "model " << model.name
                            << ": graph rewrites: " << loaded->nets[0]->rewrite().Summary() << "; "
                            << plan_.instances << " instance(s) x " << plan_.threads_per_instance
                            << " thread(s)";
    return Status::Ok();
  }

  // Batches are of one item (limits.max_batch); SyncEngine checks the input before and the outputs after.
  StatusOr<std::vector<TensorList>> Run(const LoadedModel& base, const SyncBatch& batch) override {
    const auto& model = static_cast<const CpuModel&>(base);
    TensorList outputs;
    if (model.libtorch != nullptr) {
      // The input outlives the call (SyncBatch) and RunOneOn waits for the result, so the inner engine
      // gets it without a copy: a shared_ptr that aliases it and owns nothing.
      std::shared_ptr<const Tensor> input(std::shared_ptr<const Tensor>(), batch.inputs.front());
      ACCEL_ASSIGN_OR_RETURN(outputs, RunOneOn(*model.libtorch, model.config().name, std::move(input)));
    } else if (!model.xnnpack_nets.empty()) {
      ACCEL_ASSIGN_OR_RETURN(outputs, model.xnnpack_nets.at(batch.worker)->Run(*batch.inputs.front()));
    } else {
      ACCEL_ASSIGN_OR_RETURN(outputs, model.nets.at(batch.worker)->Run(*batch.inputs.front()));
    }
    std::vector<TensorList> results;
    results.push_back(std::move(outputs));
    return results;
  }

  void AddTelemetry(EngineStats& stats) const override {
    telemetry_.Fill(stats);
    std::lock_guard<std::mutex> lock(notes_mu_);
    stats.model_runtimes = runtime_notes_;
  }

 private:
  static bool HasTorchScript(const ModelConfig& model) {
    const Artifact* a = model.ArtifactFor("nvidia");
    return a != nullptr && a->format == "torchscript";
  }

  // The inner libtorch engine, created on first use; the error (plugin missing) is kept.
  StatusOr<Engine*> LibtorchEngine() {
    if (libtorch_) return libtorch_.get();
    if (!libtorch_error_.empty()) return Unavailable(libtorch_error_);
    if (!libtorch_maker_) {
      libtorch_error_ = "libtorch plugin not installed (this accel was built without libtorch)";
      return Unavailable(libtorch_error_);
    }
    // One libtorch worker (nvidia.streams, at most 8) per cpu worker, so that no Submit of a cpu worker is
    // ever refused by the inner engine's in-flight limit.
    if (plan_.instances > kMaxLibtorchInstances) {
      libtorch_error_ = "the libtorch runtime runs at most " + std::to_string(kMaxLibtorchInstances) +
                        " instances (--cpu-instances " + std::to_string(plan_.instances) + ")";
      return Unavailable(libtorch_error_);
    }
    EngineOptions options;
    options.values["threads"] = std::to_string(plan_.threads_per_instance);
    options.values["streams"] = std::to_string(plan_.instances);  // one libtorch worker per cpu worker
    options.values["max_in_flight"] = std::to_string(plan_.instances + 1);
    StatusOr<std::unique_ptr<Engine>> engine = libtorch_maker_(options);
    if (!engine.ok()) {
      libtorch_error_ = engine.status().message();
      return Unavailable(libtorch_error_);
    }
    libtorch_ = std::move(engine).value();
    return libtorch_.get();
  }

  // Medians of kTimedRunsPerRuntime single-item runs of each loaded runtime (OpenCV and XNNPACK where
  // `model` holds their networks, libtorch where `libtorch` is set), interleaved so that a change in the
  // machine's load hits them alike; written into `in`. Zeros as input: the runtimes take the same time
  // whatever the pixels.
  Status MeasureAll(const CpuModel& model, bool libtorch, CpuRuntimeInputs& in) {
    const ModelConfig& config = model.config();
    auto zeros = std::make_shared<Tensor>(config.input.dtype, model.item_input_shape(), config.input.name);
    zeros->Fill(0);
    std::vector<double> opencv_ms, xnnpack_ms, libtorch_ms;
    auto timed = [](std::vector<double>& into, bool keep, auto&& run) -> Status {
      const auto t0 = std::chrono::steady_clock::now();
      ACCEL_RETURN_IF_ERROR(run());
      if (keep)
        into.push_back(
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
      return Status::Ok();
    };
    for (int i = 0; i <= kTimedRunsPerRuntime; ++i) {
      const bool keep = i > 0;  // the first run of each takes its first-run costs
      if (!model.nets.empty())
        ACCEL_RETURN_IF_ERROR(timed(opencv_ms, keep, [&] { return model.nets[0]->Run(*zeros).status(); }));
      if (!model.xnnpack_nets.empty())
        ACCEL_RETURN_IF_ERROR(
            timed(xnnpack_ms, keep, [&] { return model.xnnpack_nets[0]->Run(*zeros).status(); }));
      if (libtorch)
        ACCEL_RETURN_IF_ERROR(
            timed(libtorch_ms, keep, [&] { return RunOneOn(*libtorch_, config.name, zeros).status(); }));
    }
    if (!opencv_ms.empty()) in.opencv_ms = MedianOf(opencv_ms);
    if (!xnnpack_ms.empty()) in.xnnpack_ms = MedianOf(xnnpack_ms);
    if (!libtorch_ms.empty()) in.libtorch_ms = MedianOf(libtorch_ms);
    return Status::Ok();
  }

  const CpuRunPlan plan_;
  const LibtorchCpuEngineMaker libtorch_maker_;
  // Control thread only (Load); workers reach the engine through CpuModel::libtorch.
  std::unique_ptr<Engine> libtorch_;
  std::string libtorch_error_;
  mutable std::mutex notes_mu_;
  std::map<std::string, std::string> runtime_notes_;  // guarded by notes_mu_
  mutable HostTelemetry telemetry_;
};

class CpuEngineFactory final : public EngineFactory {
 public:
  CpuEngineFactory(LibtorchCpuEngineMaker libtorch_maker, LibtorchCpuPresence libtorch_presence)
      : libtorch_maker_(std::move(libtorch_maker)), libtorch_presence_(std::move(libtorch_presence)) {}
  std::string kind() const override { return "cpu"; }

  ProbeResult Probe() override {
    DeviceInfo info;
    info.id = "cpu:0";
    info.kind = "cpu";
    info.name = ReadCpuModelName();
    info.properties["cores"] = std::to_string(std::thread::hardware_concurrency());
    info.properties["memory_total_mb"] = std::to_string(ReadMemTotalMb());
    info.properties["runtime"] = std::string("OpenCV DNN ") + cv::getVersionString();
    info.properties["libtorch"] =
        libtorch_presence_ ? libtorch_presence_()
                           : (libtorch_maker_ ? "available" : "not installed (built without libtorch)");
    info.properties["xnnpack"] = "available (XNNPACK operators, NHWC float32)";
    info.properties["runtime_choice"] =
        "per model at load: model.yaml cpu.runtime, else --cpu-runtime (default auto: the fastest of opencv, "
        "xnnpack and libtorch, measured, among those that can run the model)";
    ProbeResult result;
    result.devices.push_back(std::move(info));
    return result;
  }

  std::vector<EngineOptionSpec> OptionSpecs() const override {
    return {{.key = "threads",
             .type = EngineOptionType::kInt,
             .default_value = "0",
             .help = "threads per inference of the cpu engine (OpenCV's thread count, process-wide; 0: all "
                     "cores in latency mode, cores / instances in throughput mode)",
             .min = 0,
             .max = 1024},
            {.key = "mode",
             .type = EngineOptionType::kString,
             .default_value = "latency",
             .help = "latency: one inference at a time with all threads; throughput: several concurrent "
                     "inferences with fewer threads each (highest images/s)"},
            {.key = "instances",
             .type = EngineOptionType::kInt,
             .default_value = "0",
             .help = "concurrent inferences in throughput mode (0: one per core)",
             .min = 0,
             .max = 256},
            {.key = "graph_rewrite",
             .type = EngineOptionType::kBool,
             .default_value = "true",
             .help = "rewrite ONNX graphs in memory at load for speed (Focus cut, SiLU fusion, output "
                     "transpose cut, max-pool cascade; docs/models.md); false runs the file as it is"},
            {.key = "runtime",
             .type = EngineOptionType::kString,
             .default_value = "auto",
             .help = "which runtime serves a model on the CPU: auto (the fastest of OpenCV DNN, XNNPACK and "
                     "libtorch, measured at load, among those that can run the model: XNNPACK where it "
                     "supports every node of the ONNX graph, libtorch where the model has a TorchScript "
                     "artifact and the libtorch plugin is installed), opencv, xnnpack, libtorch; model.yaml "
                     "cpu.runtime overrides it per model"}};
  }

  StatusOr<std::unique_ptr<Engine>> Create(const DeviceInfo& device, const EngineOptions& options) override {
    ACCEL_ASSIGN_OR_RETURN(ValidatedEngineOptions validated,
                           ValidateEngineOptions(kind(), OptionSpecs(), options));
    ACCEL_ASSIGN_OR_RETURN(CpuRunPlan plan, MakePlan(validated));
    cv::setNumThreads(plan.threads_per_instance);
    ACCEL_LOG(kDebug, "cpu") << "OpenCV threads: " << cv::getNumThreads();
    DeviceInfo info = device;
    info.properties["cpu_mode"] = plan.throughput ? "throughput" : "latency";
    info.properties["instances"] = std::to_string(plan.instances);
    info.properties["threads_per_instance"] = std::to_string(plan.threads_per_instance);
    info.properties["graph_rewrite"] = plan.graph_rewrite ? "on" : "off";
    info.properties["cpu_runtime"] = plan.runtime == CpuRuntime::kAuto
                                         ? "auto (per model at load: the fastest of opencv, xnnpack and "
                                           "libtorch among those that can run it)"
                                         : CpuRuntimeName(plan.runtime);
    return std::unique_ptr<Engine>(std::make_unique<CpuEngine>(std::move(info), plan, libtorch_maker_));
  }

 private:
  static StatusOr<CpuRunPlan> MakePlan(const ValidatedEngineOptions& options) {
    const int cores = std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
    const std::string mode = options.String("mode");
    CpuRunPlan plan;
    plan.graph_rewrite = options.Bool("graph_rewrite");
    ACCEL_ASSIGN_OR_RETURN(plan.runtime, ParseCpuRuntime(options.String("runtime"), "cpu.runtime"));
    const int threads = static_cast<int>(options.Int("threads"));
    if (mode == "latency") {
      if (options.Has("instances"))
        return InvalidArgument("cpu.instances applies to throughput mode only (set cpu.mode=throughput)");
      plan.threads_per_instance = threads > 0 ? threads : cores;
    } else if (mode == "throughput") {
      plan.throughput = true;
      const int instances = static_cast<int>(options.Int("instances"));
      plan.instances = instances > 0 ? instances : cores;
      plan.threads_per_instance = threads > 0 ? threads : std::max(1, cores / plan.instances);
    } else {
      return InvalidArgument("cpu.mode must be latency or throughput, got '" + mode + "'");
    }
    return plan;
  }

  const LibtorchCpuEngineMaker libtorch_maker_;
  const LibtorchCpuPresence libtorch_presence_;
};

}  // namespace

std::unique_ptr<EngineFactory> MakeCpuEngineFactory(LibtorchCpuEngineMaker libtorch_maker,
                                                    LibtorchCpuPresence libtorch_presence) {
  return std::make_unique<CpuEngineFactory>(std::move(libtorch_maker), std::move(libtorch_presence));
}

}  // namespace accel
