// cpu engine: OpenCV DNN (CPU backend) running the model's `cpu` ONNX artifact.
//
// Built on SyncEngine: its one worker thread executes batches in order; OpenCV parallelises each forward
// pass over its own thread pool (cv::setNumThreads). Batches are of one item: on this backend a larger batch
// gives no gain per image (measured, DESIGN.md), and a fixed-batch ONNX file silently returns garbage for
// batch > 1.
#include "engines/cpu/cpu_engine.h"

#include <opencv2/core.hpp>
#include <opencv2/core/utility.hpp>
#include <opencv2/dnn.hpp>

#include <chrono>
#include <cstring>
#include <fstream>
#include <mutex>
#include <thread>

#include "core/logging.h"
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

struct CpuModel final : LoadedModel {
  explicit CpuModel(const ModelConfig& config) : LoadedModel(config) {}
  // A cv::dnn::Net is not thread-safe and forward() mutates it; Run is its only user, on the engine's one
  // worker thread.
  mutable cv::dnn::Net net;
  std::vector<std::string> output_names;
};

class CpuEngine final : public SyncEngine {
 public:
  // One batch running and one queued, so the next batch is ready the moment one finishes.
  explicit CpuEngine(DeviceInfo info)
      : SyncEngine(std::move(info), SyncEngineLimits{.max_batch = 1, .max_in_flight = 2, .workers = 1}) {}
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
    auto loaded = std::make_shared<CpuModel>(model);
    try {
      loaded->net = cv::dnn::readNetFromONNX(artifact->path.string());
      loaded->net.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
      loaded->net.setPreferableTarget(cv::dnn::DNN_TARGET_CPU);
    } catch (const cv::Exception& e) {
      return InvalidArgument("OpenCV cannot read '" + artifact->path.string() + "': " + e.what());
    }
    if (loaded->net.empty())
      return InvalidArgument("OpenCV read an empty network from " + artifact->path.string());
    for (const auto& out : model.outputs) loaded->output_names.push_back(out.name);
    return std::shared_ptr<const LoadedModel>(std::move(loaded));
  }

  // Batches are of one item (limits.max_batch); SyncEngine checks the input before and the outputs after.
  StatusOr<std::vector<TensorList>> Run(const LoadedModel& base, const SyncBatch& batch) override {
    const auto& model = static_cast<const CpuModel&>(base);
    const Tensor& input = *batch.inputs.front();
    std::vector<int> dims(input.shape().begin(), input.shape().end());
    // OpenCV wants a non-const pointer; setInput does not write through it.
    cv::Mat blob(static_cast<int>(dims.size()), dims.data(), CV_32F, const_cast<uint8_t*>(input.bytes()));
    try {
      model.net.setInput(blob, model.config().input.name);
      std::vector<cv::Mat> outs;
      model.net.forward(outs, model.output_names);
      TensorList tensors;
      for (size_t i = 0; i < outs.size(); ++i) {
        const cv::Mat& m = outs[i];
        if (m.type() != CV_32F) return Internal("cpu engine: output is not float32");
        std::vector<int64_t> shape(m.size.p, m.size.p + m.dims);
        Tensor t(DType::kFloat32, shape, model.output_names[i]);
        const cv::Mat contiguous = m.isContinuous() ? m : m.clone();
        std::memcpy(t.bytes(), contiguous.data, t.byte_size());
        tensors.push_back(std::move(t));
      }
      std::vector<TensorList> results;
      results.push_back(std::move(tensors));
      return results;
    } catch (const cv::Exception& e) {
      return Internal(std::string("OpenCV DNN forward failed: ") + e.what());
    }
  }

  void AddTelemetry(EngineStats& stats) const override { telemetry_.Fill(stats); }

 private:
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
             .help = "threads for the cpu engine (OpenCV's thread count, process-wide; 0: all cores)",
             .min = 0,
             .max = 1024}};
  }

  StatusOr<std::unique_ptr<Engine>> Create(const DeviceInfo& device, const EngineOptions& options) override {
    ACCEL_ASSIGN_OR_RETURN(ValidatedEngineOptions validated,
                           ValidateEngineOptions(kind(), OptionSpecs(), options));
    if (const int64_t threads = validated.Int("threads"); threads > 0)
      cv::setNumThreads(static_cast<int>(threads));
    ACCEL_LOG(kDebug, "cpu") << "OpenCV threads: " << cv::getNumThreads();
    return std::unique_ptr<Engine>(std::make_unique<CpuEngine>(device));
  }
};

}  // namespace

std::unique_ptr<EngineFactory> MakeCpuEngineFactory() { return std::make_unique<CpuEngineFactory>(); }

}  // namespace accel
