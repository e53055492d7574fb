// cpu engine: OpenCV DNN (CPU backend) running the model's `cpu` ONNX artifact.
//
// One worker thread per engine executes batches in order; OpenCV parallelises each forward pass over its
// own thread pool (cv::setNumThreads). Batches are of one item: on this backend a larger batch gives no
// gain per image (measured, DESIGN.md), and a fixed-batch ONNX file silently returns garbage for batch > 1.
#include "engines/cpu/cpu_engine.h"

#include <opencv2/core.hpp>
#include <opencv2/core/utility.hpp>
#include <opencv2/dnn.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <fstream>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "core/logging.h"

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

struct LoadedModel {
  cv::dnn::Net net;
  std::string input_name;
  std::vector<std::string> output_names;
  std::vector<std::vector<int64_t>> output_item_shapes;
  std::vector<int> warmup_dims;  // [1, ...item shape] from model.yaml
  std::mutex run_mutex;          // a cv::dnn::Net is not thread-safe; warmup and the worker share it
};

class CpuEngine final : public Engine {
 public:
  explicit CpuEngine(DeviceInfo info) : info_(std::move(info)) {
    worker_ = std::thread([this] { WorkerLoop(); });
  }
  ~CpuEngine() override { Shutdown(); }

  const DeviceInfo& device() const override { return info_; }
  EngineCapabilities capabilities() const override {
    EngineCapabilities caps;
    caps.max_batch = 1;
    caps.max_in_flight = 2;  // one running, one queued: the next batch is ready the moment one finishes
    caps.async = true;
    return caps;
  }

  bool Supports(const ModelConfig& model) const override {
    const Artifact* a = model.ArtifactFor("cpu");
    return a != nullptr && a->format == "onnx";
  }

  Status Load(const ModelConfig& model) override {
    const Artifact* artifact = model.ArtifactFor("cpu");
    if (!artifact || artifact->format != "onnx")
      return FailedPrecondition("model '" + model.name + "' has no onnx artifact for the cpu engine");
    std::error_code ec;
    if (!std::filesystem::exists(artifact->path, ec))
      return NotFound("cpu artifact '" + artifact->path.string() + "' of model '" + model.name +
                      "' does not exist (run scripts/setup to link the default model)");
    auto loaded = std::make_shared<LoadedModel>();
    try {
      loaded->net = cv::dnn::readNetFromONNX(artifact->path.string());
      loaded->net.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
      loaded->net.setPreferableTarget(cv::dnn::DNN_TARGET_CPU);
    } catch (const cv::Exception& e) {
      return InvalidArgument("OpenCV cannot read '" + artifact->path.string() + "': " + e.what());
    }
    if (loaded->net.empty())
      return InvalidArgument("OpenCV read an empty network from " + artifact->path.string());
    loaded->input_name = model.input.name;
    loaded->warmup_dims = {1};
    for (int64_t d : model.InputItemShape()) loaded->warmup_dims.push_back(static_cast<int>(d));
    for (const auto& out : model.outputs) {
      loaded->output_names.push_back(out.name);
      loaded->output_item_shapes.push_back(out.shape);
    }
    std::lock_guard<std::mutex> lock(models_mutex_);
    models_[model.name] = std::move(loaded);
    return Status::Ok();
  }

  Status Unload(const std::string& model) override {
    std::lock_guard<std::mutex> lock(models_mutex_);
    if (models_.erase(model) == 0) return NotFound("model '" + model + "' is not loaded on " + info_.id);
    return Status::Ok();
  }

  Status Warmup(const std::string& model, int batch_size) override {
    auto loaded = FindModel(model);
    if (!loaded) return NotFound("model '" + model + "' is not loaded on " + info_.id);
    // Batches are of one item on this engine, whatever batch_size the caller hoped for. Warmup runs on
    // the control thread while the worker may run other models: each Net is only touched under its own
    // lock (run_mutex).
    const auto& dims = loaded->warmup_dims;
    cv::Mat blob(static_cast<int>(dims.size()), dims.data(), CV_32F, cv::Scalar(0));
    auto result = RunForward(*loaded, blob);
    return result.ok() ? Status::Ok() : result.status();
  }

  Status Submit(Batch& batch) override {
    if (batch.items.empty()) return InvalidArgument("empty batch");
    if (batch.items.size() > 1) return InvalidArgument("the cpu engine runs batches of one item");
    auto loaded = FindModel(batch.model);
    if (!loaded) return NotFound("model '" + batch.model + "' is not loaded on " + info_.id);
    std::lock_guard<std::mutex> lock(queue_mutex_);
    if (stopping_) return Unavailable(info_.id + " is shutting down");
    queue_.push_back(Job{std::move(loaded), std::move(batch)});
    queue_cv_.notify_one();
    return Status::Ok();
  }

  EngineHealth Health() const override {
    if (stopped_.load()) return {HealthState::kFailed, "shut down"};
    return {};
  }

  EngineStats Stats() const override {
    EngineStats s;
    s.batches_executed = batches_.load();
    s.items_executed = items_.load();
    s.failures = failures_.load();
    telemetry_.Fill(s);
    return s;
  }

  void Shutdown() override {
    {
      std::lock_guard<std::mutex> lock(queue_mutex_);
      if (stopping_) return;
      stopping_ = true;
      queue_cv_.notify_all();
    }
    if (worker_.joinable()) worker_.join();
    stopped_ = true;
  }

 private:
  struct Job {
    std::shared_ptr<LoadedModel> model;
    Batch batch;
  };

  std::shared_ptr<LoadedModel> FindModel(const std::string& name) const {
    std::lock_guard<std::mutex> lock(models_mutex_);
    auto it = models_.find(name);
    return it == models_.end() ? nullptr : it->second;
  }

  // Runs one forward pass; returns the outputs with the batch dimension the network produced.
  StatusOr<TensorList> RunForward(LoadedModel& model, const cv::Mat& blob) {
    std::lock_guard<std::mutex> lock(model.run_mutex);
    try {
      model.net.setInput(blob, model.input_name);
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
      return tensors;
    } catch (const cv::Exception& e) {
      return Internal(std::string("OpenCV DNN forward failed: ") + e.what());
    }
  }

  void Execute(Job& job) {
    BatchItem& item = job.batch.items.front();
    const Tensor& input = *item.input;
    std::vector<int> dims(input.shape().begin(), input.shape().end());
    // OpenCV wants a non-const pointer; setInput does not write through it.
    cv::Mat blob(static_cast<int>(dims.size()), dims.data(), CV_32F, const_cast<uint8_t*>(input.bytes()));
    auto result = RunForward(*job.model, blob);
    batches_++;
    if (!result.ok()) {
      failures_++;
      item.done(result.status());
      return;
    }
    // Output shapes must match the batch sent (1) and the model's declared per-item shape.
    for (size_t i = 0; i < result->size(); ++i) {
      const auto& shape = (*result)[i].shape();
      const auto& expected = job.model->output_item_shapes[i];
      std::vector<int64_t> want = {1};
      want.insert(want.end(), expected.begin(), expected.end());
      bool match = shape.size() == want.size();
      for (size_t d = 0; match && d < shape.size(); ++d) match = want[d] < 0 || shape[d] == want[d];
      if (!match) {
        failures_++;
        item.done(Internal("cpu engine: output '" + (*result)[i].name() + "' has shape " +
                           ShapeToString(shape) + ", expected " + ShapeToString(want) + " for a batch of 1"));
        return;
      }
    }
    items_++;
    item.done(std::move(result));
  }

  void WorkerLoop() {
    for (;;) {
      Job job;
      {
        std::unique_lock<std::mutex> lock(queue_mutex_);
        queue_cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
        if (queue_.empty()) return;  // stopping and drained
        job = std::move(queue_.front());
        queue_.pop_front();
      }
      Execute(job);
    }
  }

  const DeviceInfo info_;
  mutable std::mutex models_mutex_;
  std::unordered_map<std::string, std::shared_ptr<LoadedModel>> models_;

  std::mutex queue_mutex_;
  std::condition_variable queue_cv_;
  std::deque<Job> queue_;
  bool stopping_ = false;
  std::atomic<bool> stopped_{false};
  std::thread worker_;

  std::atomic<uint64_t> batches_{0}, items_{0}, failures_{0};
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

  StatusOr<std::unique_ptr<Engine>> Create(const DeviceInfo& device, const EngineOptions& options) override {
    const std::string threads = options.Get("threads");
    if (!threads.empty()) {
      try {
        const int n = std::stoi(threads);
        if (n < 1) return InvalidArgument("cpu engine: threads must be >= 1");
        cv::setNumThreads(n);
      } catch (const std::exception&) {
        return InvalidArgument("cpu engine: threads must be a number, got '" + threads + "'");
      }
    }
    ACCEL_LOG(kDebug, "cpu") << "OpenCV threads: " << cv::getNumThreads();
    return std::unique_ptr<Engine>(std::make_unique<CpuEngine>(device));
  }
};

}  // namespace

std::unique_ptr<EngineFactory> MakeCpuEngineFactory() { return std::make_unique<CpuEngineFactory>(); }

}  // namespace accel
