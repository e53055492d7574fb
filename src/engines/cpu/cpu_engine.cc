// cpu engine: OpenCV DNN (CPU backend) running the model's `cpu` ONNX artifact.
//
// Built on SyncEngine. Latency mode (default): one worker thread executes batches in order and OpenCV
// parallelises each forward pass over its thread pool (cv::setNumThreads). Throughput mode: `instances`
// workers, each with its own copy of the network, run that many inferences at once with fewer threads each;
// the scheduler sees the extra concurrency as max_in_flight. Each model is rewritten at load for OpenCV
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
#include <mutex>
#include <thread>

#include "core/logging.h"
#include "engines/cpu/cpu_net.h"
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
};

struct CpuModel final : LoadedModel {
  explicit CpuModel(const ModelConfig& config) : LoadedModel(config) {}
  // One network per worker: a cv::dnn::Net is not thread-safe (forward mutates it), so worker w only ever
  // runs nets[w].
  std::vector<std::unique_ptr<CpuNet>> nets;
};

class CpuEngine final : public SyncEngine {
 public:
  // Each worker has one batch running; one more is queued so the next batch is ready the moment a worker
  // is free. In throughput mode the scheduler thus sees instances + 1 batches in flight.
  CpuEngine(DeviceInfo info, CpuRunPlan plan)
      : SyncEngine(
            std::move(info),
            SyncEngineLimits{.max_batch = 1, .max_in_flight = plan.instances + 1, .workers = plan.instances}),
        plan_(plan) {}
  ~CpuEngine() override { Shutdown(); }

  bool Supports(const ModelConfig& model) const override {
    const Artifact* a = model.ArtifactFor("cpu");
    return a != nullptr && a->format == "onnx";
  }

 protected:
  StatusOr<std::shared_ptr<const LoadedModel>> LoadModel(const ModelConfig& model) override {
    const Artifact* artifact = model.ArtifactFor("cpu");
    if (!artifact || artifact->format != "onnx")
      return FailedPrecondition("model '" + model.name + "' has no onnx artifact for the cpu engine");
    std::error_code ec;
    if (!std::filesystem::exists(artifact->path, ec))
      return NotFound("cpu artifact '" + artifact->path.string() + "' of model '" + model.name +
                      "' does not exist (run scripts/setup to link the default model)");
    const OnnxRewriteOptions rewrite = plan_.graph_rewrite ? CpuNet::DefaultRewrite() : CpuNet::NoRewrite();
    auto loaded = std::make_shared<CpuModel>(model);
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
    return std::shared_ptr<const LoadedModel>(std::move(loaded));
  }

  // Batches are of one item (limits.max_batch); SyncEngine checks the input before and the outputs after.
  StatusOr<std::vector<TensorList>> Run(const LoadedModel& base, const SyncBatch& batch) override {
    const auto& model = static_cast<const CpuModel&>(base);
    ACCEL_ASSIGN_OR_RETURN(TensorList outputs, model.nets.at(batch.worker)->Run(*batch.inputs.front()));
    std::vector<TensorList> results;
    results.push_back(std::move(outputs));
    return results;
  }

  void AddTelemetry(EngineStats& stats) const override { telemetry_.Fill(stats); }

 private:
  const CpuRunPlan plan_;
  mutable HostTelemetry telemetry_;
};

class CpuEngineFactory final : public EngineFactory {
 public:
  std::string kind() const override { return "cpu"; }

  ProbeResult Probe() override {
    DeviceInfo info;
    info.id = "cpu:0";
    info.kind = "cpu";
    info.name = ReadCpuModelName();
    info.properties["cores"] = std::to_string(std::thread::hardware_concurrency());
    info.properties["memory_total_mb"] = std::to_string(ReadMemTotalMb());
    info.properties["runtime"] = std::string("OpenCV DNN ") + cv::getVersionString();
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
                     "transpose cut, max-pool cascade; docs/models.md); false runs the file as it is"}};
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
    return std::unique_ptr<Engine>(std::make_unique<CpuEngine>(std::move(info), plan));
  }

 private:
  static StatusOr<CpuRunPlan> MakePlan(const ValidatedEngineOptions& options) {
    const int cores = std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
    const std::string mode = options.String("mode");
    CpuRunPlan plan;
    plan.graph_rewrite = options.Bool("graph_rewrite");
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
};

}  // namespace

std::unique_ptr<EngineFactory> MakeCpuEngineFactory() { return std::make_unique<CpuEngineFactory>(); }

}  // namespace accel
