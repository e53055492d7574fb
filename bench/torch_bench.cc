// torch_bench: the nvidia engine's throughput through the service's scheduler (in-process, no HTTP)
// against a raw libtorch loop on the same device and model, at batch 1, 8 and 32.
//
//   raw        torch::jit::load + freeze, then for each iteration: host batch -> device, forward,
//              output -> host. One thread, default stream; the inputs are prepared once.
//   scheduler  Scheduler + TorchEngine (one device), a closed loop of 3 x batch requests outstanding, each
//              a separate [1,3,416,416] tensor, so the figure includes queueing, dynamic batching,
//              stacking into pinned memory, splitting the output and the completion callbacks.
// Neither includes image decoding or letterboxing.
//
// Before the runs, on a GPU: the device's memory in use (NVML, device-wide) before anything, after the
// engine loaded the model and after its first batch, in a process that has done nothing else on the GPU.
//
//   torch_bench [--device=nvidia:0|nvidia-cpu:0] [--model=PATH] [--format=torchscript|pt2]
//               [--batches=1,8,32] [--seconds=S] [--streams=N] [--threads=N] [--tf32=0|1] [--json=PATH]
// Without --device it uses the first GPU, else the CPU test device; figures from the CPU test device are
// libtorch-on-CPU figures and say so in every line. --format defaults to pt2 for a .pt2 file (AOTInductor,
// libtorch >= 2.6), else torchscript. --tf32 applies to both sides (the engine's `tf32` option; off by
// default, as in the engine). --json also writes every figure to PATH (scripts/gpu-check reads it).
#include <ATen/Context.h>
#include <ATen/Parallel.h>
#include <c10/core/DeviceGuard.h>
#include <c10/core/InferenceMode.h>
#include <torch/cuda.h>
#include <torch/script.h>
#include <torch/version.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/logging.h"
#include "core/model_config.h"
#include "engines/nvidia/nvml.h"
#include "engines/nvidia/torch_aoti.h"
#include "engines/nvidia/torch_engine.h"
#include "scheduler/scheduler.h"

namespace accel {
namespace {

using Clk = std::chrono::steady_clock;

struct Args {
  std::string device;
  std::string model;
  std::string format;  // "torchscript" or "pt2"
  std::vector<int> batches = {1, 8, 32};
  double seconds = -1;
  int streams = 0;
  int threads = 0;
  bool tf32 = false;
  std::string json;
};

[[noreturn]] void Die(const std::string& message) {
  std::fprintf(stderr, "torch_bench: %s\n", message.c_str());
  std::exit(1);
}

Args ParseArgs(int argc, char** argv) {
  Args args;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&](const char* key) -> std::optional<std::string> {
      std::string prefix = std::string("--") + key + "=";
      if (arg.rfind(prefix, 0) == 0) return arg.substr(prefix.size());
      return std::nullopt;
    };
    if (auto v = value("device")) {
      args.device = *v;
    } else if (auto v = value("model")) {
      args.model = *v;
    } else if (auto v = value("seconds")) {
      args.seconds = std::atof(v->c_str());
    } else if (auto v = value("streams")) {
      args.streams = std::atoi(v->c_str());
    } else if (auto v = value("threads")) {
      args.threads = std::atoi(v->c_str());
    } else if (auto v = value("format")) {
      args.format = *v;
    } else if (auto v = value("tf32")) {
      args.tf32 = *v == "1" || *v == "true";
    } else if (auto v = value("json")) {
      args.json = *v;
    } else if (auto v = value("batches")) {
      args.batches.clear();
      std::stringstream in(*v);
      for (std::string item; std::getline(in, item, ',');) args.batches.push_back(std::atoi(item.c_str()));
    } else {
      Die("unknown argument " + arg + " (see the comment at the top of bench/torch_bench.cc)");
    }
  }
  if (args.model.empty()) {
    const char* env = std::getenv("ACCEL_TORCHSCRIPT_MODEL");
    args.model = env != nullptr && *env != '\0'
                     ? env
                     : std::string(ACCEL_SOURCE_DIR) + "/models/yolox-nano/yolox_nano.torchscript.pt";
  }
  if (!std::filesystem::is_regular_file(args.model)) {
    Die("model " + args.model + " not found: run /usr/bin/python3 scripts/convert_yolox_torchscript.py");
  }
  if (args.format.empty()) {
    args.format = std::filesystem::path(args.model).extension() == ".pt2" ? "pt2" : "torchscript";
  }
  if (args.format != "torchscript" && args.format != "pt2") Die("--format must be torchscript or pt2");
  if (args.format == "pt2" && !ACCEL_TORCH_HAS_AOTI) {
    Die(std::string("pt2 (AOTInductor) needs libtorch >= 2.6; this is ") + TORCH_VERSION);
  }
  return args;
}

std::shared_ptr<const Tensor> PatternInput(int seed) {
  auto tensor = std::make_shared<Tensor>(DType::kFloat32, std::vector<int64_t>{1, 3, 416, 416});
  float* data = tensor->data<float>();
  for (int64_t i = 0; i < tensor->num_elements(); ++i)
    data[i] = static_cast<float>((i * 31 + seed * 17) % 256);
  return tensor;
}

double MemoryUsedMb(bool cuda, int index) {
  if (!cuda) return -1;
  std::optional<GpuReading> reading = Nvml::Get().Read(index);
  return reading ? reading->memory_used_mb : -1;
}

struct Figure {
  double images_per_s = 0;
  double ms_per_batch = 0;
  double memory_used_mb = -1;
};

// The model as a plain function, loaded the way a user of libtorch alone would load it.
std::function<at::Tensor(const at::Tensor&)> LoadRaw(const Args& args, const c10::Device& device) {
  if (args.format == "pt2") {
#if ACCEL_TORCH_HAS_AOTI
    std::optional<c10::DeviceGuard> on_device;
    if (device.is_cuda()) on_device.emplace(device);
    auto loader = std::make_shared<torch::inductor::AOTIModelPackageLoader>(args.model);
    return [loader](const at::Tensor& input) { return loader->run({input}).at(0); };
#endif
  }
  auto module = std::make_shared<torch::jit::Module>(torch::jit::load(args.model, device));
  module->eval();
  *module = torch::jit::freeze(*module);
  return [module](const at::Tensor& input) { return module->forward({input}).toTensor(); };
}

// The reference: what a user would write with libtorch alone.
Figure RawLoop(const Args& args, const c10::Device& device, int batch, double seconds) {
  std::function<at::Tensor(const at::Tensor&)> forward = LoadRaw(args, device);
  c10::InferenceMode guard;
  const bool cuda = device.is_cuda();
  at::Tensor host =
      at::empty({batch, 3, 416, 416}, at::TensorOptions().dtype(at::kFloat).pinned_memory(cuda));
  for (int i = 0; i < batch; ++i) {
    std::memcpy(static_cast<float*>(host.data_ptr()) + i * 3 * 416 * 416, PatternInput(i)->data<float>(),
                3 * 416 * 416 * sizeof(float));
  }
  auto once = [&] {
    at::Tensor input = cuda ? host.to(device, /*non_blocking=*/true) : host;
    at::Tensor out = forward(input).to(at::kCPU);
    if (out.size(0) != batch) Die("raw loop: wrong output batch");
  };
  for (int i = 0; i < 3; ++i) once();  // profiling executor and allocator warm-up
  long iterations = 0;
  auto start = Clk::now();
  double elapsed = 0;
  while (elapsed < seconds || iterations < 3) {
    once();
    ++iterations;
    elapsed = std::chrono::duration<double>(Clk::now() - start).count();
  }
  Figure figure;
  figure.images_per_s = iterations * batch / elapsed;
  figure.ms_per_batch = elapsed * 1000 / iterations;
  figure.memory_used_mb = MemoryUsedMb(cuda, device.index());
  return figure;
}

EngineOptions EngineOptionsFor(const Args& args, int max_batch) {
  EngineOptions options;
  options.values["max_batch"] = std::to_string(std::max(max_batch, 1));
  if (args.streams > 0) options.values["streams"] = std::to_string(args.streams);
  options.values["tf32"] = args.tf32 ? "true" : "false";
  return options;
}

struct LoadMemory {
  double idle_mb = -1;
  double after_load_mb = -1;
  double after_first_batch_mb = -1;
};

// The engine alone, first thing on the GPU in this process: what loading the model and its first batch
// (the engine's warm-up) take of the device's memory. NVML reports the whole device, so anything else
// running on it is included; the idle figure shows how much that is.
LoadMemory MeasureLoad(const Args& args, const DeviceInfo& info, EngineFactory& factory,
                       const ModelConfig& config, int cuda_index) {
  LoadMemory memory;
  memory.idle_mb = MemoryUsedMb(true, cuda_index);
  auto engine = factory.Create(info, EngineOptionsFor(args, 1));
  if (!engine.ok()) Die("create: " + engine.status().ToString());
  if (Status s = (*engine)->Load(config); !s.ok()) Die("load: " + s.ToString());
  memory.after_load_mb = MemoryUsedMb(true, cuda_index);
  if (Status s = (*engine)->Warmup(config.name, 1); !s.ok()) Die("first batch: " + s.ToString());
  memory.after_first_batch_mb = MemoryUsedMb(true, cuda_index);
  (*engine)->Shutdown();
  return memory;
}

struct SchedulerFigure {
  Figure figure;
  long small_batch_items = 0;
};

SchedulerFigure ThroughScheduler(const Args& args, const DeviceInfo& info, EngineFactory& factory,
                                 ModelConfig config, int batch, double seconds, bool cuda, int cuda_index) {
  auto engine = factory.Create(info, EngineOptionsFor(args, batch));
  if (!engine.ok()) Die("create: " + engine.status().ToString());
  SchedulerOptions scheduler_options;
  scheduler_options.queue_capacity = 4 * batch + 16;
  // A batch of 32 on a shared 2-core CPU takes seconds; that is not a device failure.
  scheduler_options.execution_timeout = Micros(120'000'000);
  Scheduler scheduler(scheduler_options);
  config.max_batch = batch;
  config.max_queue_delay_us = 2000;
  DeviceOptions device_options;
  device_options.max_batch = batch;
  if (Status s = scheduler.AddDevice(std::move(engine).value(), device_options); !s.ok()) Die(s.ToString());
  if (Status s = scheduler.LoadModel(config); !s.ok()) Die("load: " + s.ToString());

  std::vector<std::shared_ptr<const Tensor>> inputs;
  for (int i = 0; i < batch; ++i) inputs.push_back(PatternInput(i));

  // Closed loop: each completion submits the next request until `stop`; completions are counted only
  // inside the measured window.
  struct Loop {
    std::mutex mutex;
    std::condition_variable cv;
    std::atomic<bool> stop{false};
    std::atomic<bool> counting{false};
    std::atomic<long> finished{0};   // every success, warm-up included
    std::atomic<long> completed{0};  // successes inside the measured window
    std::atomic<long> failed{0};
    std::atomic<long> small_batch_items{0};
    int outstanding = 0;
    std::string first_error;
  };
  auto loop = std::make_shared<Loop>();
  InferenceOptions request;
  request.model = config.name;
  request.engine = "nvidia";
  std::function<void(int)> submit;
  submit = [&, loop](int slot) {
    {
      std::lock_guard<std::mutex> lock(loop->mutex);
      ++loop->outstanding;
    }
    scheduler.Submit(request, inputs[slot % inputs.size()],
                     [&, loop, slot](StatusOr<InferenceResult> result) {
                       if (!result.ok()) {
                         ++loop->failed;
                         std::lock_guard<std::mutex> lock(loop->mutex);
                         if (loop->first_error.empty()) loop->first_error = result.status().ToString();
                       } else {
                         ++loop->finished;
                         if (loop->counting) {
                           ++loop->completed;
                           if (result->batch_size != batch)
                             ++loop->small_batch_items;  // items that ran in a smaller batch
                         }
                       }
                       if (!loop->stop) submit(slot);
                       std::lock_guard<std::mutex> lock(loop->mutex);
                       --loop->outstanding;
                       loop->cv.notify_all();
                     });
  };
  const int outstanding = 3 * batch;
  for (int i = 0; i < outstanding; ++i) submit(i);
  // Waits until `done` or `limit` seconds have passed; returns the seconds waited.
  auto wait = [&loop](const std::function<bool(double)>& done, double limit) {
    auto from = Clk::now();
    double waited = 0;
    while (!done(waited) && waited < limit && loop->failed == 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      waited = std::chrono::duration<double>(Clk::now() - from).count();
    }
    return waited;
  };
  // Warm-up: the profiling executor specialises on its first runs of each shape; at least one full batch
  // must have come back. The window then lasts `seconds` and at least two batches' worth of items, so a
  // slow device (the CPU test device: seconds per batch) still gives a figure; neither waits forever.
  const double limit = 20 * seconds + 120;
  wait([&](double t) { return t >= std::max(1.0, seconds / 4) && loop->finished >= batch; }, limit);
  loop->counting = true;
  double elapsed = wait([&](double t) { return t >= seconds && loop->completed >= 2 * batch; }, limit);
  loop->counting = false;
  long completed = loop->completed;
  Figure figure;
  figure.memory_used_mb = MemoryUsedMb(cuda, cuda_index);
  loop->stop = true;
  {
    std::unique_lock<std::mutex> lock(loop->mutex);
    loop->cv.wait(lock, [&] { return loop->outstanding == 0; });
  }
  scheduler.Shutdown();
  if (loop->failed > 0)
    Die("scheduler run had " + std::to_string(loop->failed.load()) + " failures: " + loop->first_error);
  figure.images_per_s = completed / elapsed;
  figure.ms_per_batch = completed > 0 ? elapsed * 1000 * batch / completed : 0;
  if (loop->small_batch_items > 0) {
    std::printf("  note: %ld of %ld items ran in batches smaller than %d\n", loop->small_batch_items.load(),
                completed, batch);
  }
  return SchedulerFigure{figure, loop->small_batch_items.load()};
}

// -1 (no reading) becomes null.
nlohmann::json Reading(double value) { return value < 0 ? nlohmann::json() : nlohmann::json(value); }

int Main(int argc, char** argv) {
  Args args = ParseArgs(argc, argv);
  SetLogLevel(LogLevel::kWarn);
  if (args.threads > 0) at::set_num_threads(args.threads);
  auto factory = MakeTorchEngineFactory(true);
  ProbeResult probe = factory->Probe();
  const DeviceInfo* chosen = nullptr;
  for (const DeviceInfo& d : probe.devices) {
    if (args.device.empty() ? !d.test_only : d.id == args.device) {
      chosen = &d;
      break;
    }
  }
  if (chosen == nullptr && args.device.empty()) {
    for (const DeviceInfo& d : probe.devices) {
      if (d.test_only) chosen = &d;
    }
    std::printf("no GPU (%s): measuring the CPU test device instead\n", probe.unavailable_reason.c_str());
  }
  if (chosen == nullptr) Die("device " + args.device + " not found (" + probe.unavailable_reason + ")");
  const bool cuda = !chosen->test_only;
  const int cuda_index = cuda ? std::atoi(chosen->properties.at("index").c_str()) : -1;
  c10::Device device =
      cuda ? c10::Device(c10::kCUDA, static_cast<c10::DeviceIndex>(cuda_index)) : c10::Device(c10::kCPU);
  if (args.seconds <= 0) args.seconds = cuda ? 10 : 6;
  const char* mode = cuda ? "GPU" : "CPU TEST MODE (libtorch on the host CPU, not a GPU)";

  auto config_or = LoadModelConfig(std::string(ACCEL_SOURCE_DIR) + "/models/yolox-nano/model.yaml");
  if (!config_or.ok()) Die(config_or.status().ToString());
  ModelConfig config = std::move(config_or).value();
  for (Artifact& a : config.artifacts) {
    if (a.engine_kind == "nvidia") {
      a.format = args.format;
      a.path = args.model;
    }
  }
  // The raw loop runs with the same TF32 setting as the engine (which sets it when it is created).
  if (cuda) {
    at::globalContext().setAllowTF32CuDNN(args.tf32);
    at::globalContext().setAllowTF32CuBLAS(args.tf32);
  }
  char date[32];
  std::time_t now = std::time(nullptr);
  std::strftime(date, sizeof(date), "%Y-%m-%d", std::gmtime(&now));
  std::printf("torch_bench %s: device %s (%s), %s, libtorch %s, threads %d, %s model %s, tf32 %s\n", date,
              chosen->id.c_str(), chosen->name.c_str(), mode, TORCH_VERSION, at::get_num_threads(),
              args.format.c_str(), args.model.c_str(), args.tf32 ? "on" : "off");
  nlohmann::json report = {{"date", date},
                           {"device", chosen->id},
                           {"device_name", chosen->name},
                           {"mode", cuda ? "gpu" : "cpu-test"},
                           {"libtorch", TORCH_VERSION},
                           {"threads", at::get_num_threads()},
                           {"format", args.format},
                           {"model", args.model},
                           {"tf32", args.tf32},
                           {"seconds", args.seconds},
                           {"properties", chosen->properties},
                           {"rows", nlohmann::json::array()}};
  auto write_json = [&] {
    if (args.json.empty()) return;
    std::ofstream out(args.json);
    out << report.dump(1) << "\n";
    if (!out) Die("cannot write " + args.json);
  };
  if (cuda) {
    LoadMemory memory = MeasureLoad(args, *chosen, *factory, config, cuda_index);
    std::printf(
        "GPU memory in use (NVML, device-wide): %.0f MB before, %.0f MB after loading the model, "
        "%.0f MB after its first batch\n",
        memory.idle_mb, memory.after_load_mb, memory.after_first_batch_mb);
    report["memory"] = {{"idle_mb", Reading(memory.idle_mb)},
                        {"after_load_mb", Reading(memory.after_load_mb)},
                        {"after_first_batch_mb", Reading(memory.after_first_batch_mb)}};
  }
  write_json();  // what is known so far survives a failure below
  std::printf("%-6s %14s %12s %18s %12s %8s\n", "batch", "raw img/s", "raw ms/b", "scheduler img/s",
              "sched ms/b", "ratio");
  for (int batch : args.batches) {
    if (batch < 1) Die("batch sizes must be >= 1");
    Figure raw;
    try {
      raw = RawLoop(args, device, batch, args.seconds);
    } catch (const c10::Error& e) {
      Die(std::string("raw loop: ") + e.what_without_backtrace());
    } catch (const std::exception& e) {
      Die(std::string("raw loop: ") + e.what());
    }
    SchedulerFigure served =
        ThroughScheduler(args, *chosen, *factory, config, batch, args.seconds, cuda, cuda_index);
    const double ratio = served.figure.images_per_s / raw.images_per_s;
    std::printf("%-6d %14.1f %12.2f %18.1f %12.2f %7.1f%%", batch, raw.images_per_s, raw.ms_per_batch,
                served.figure.images_per_s, served.figure.ms_per_batch, 100.0 * ratio);
    if (cuda) {
      std::printf("  GPU memory used: raw %.0f MB, scheduler %.0f MB (device-wide, NVML)", raw.memory_used_mb,
                  served.figure.memory_used_mb);
    }
    std::printf("  [%s]\n", cuda ? "GPU" : "CPU test mode");
    std::fflush(stdout);
    report["rows"].push_back({{"batch", batch},
                              {"raw_images_per_s", raw.images_per_s},
                              {"raw_ms_per_batch", raw.ms_per_batch},
                              {"scheduler_images_per_s", served.figure.images_per_s},
                              {"scheduler_ms_per_batch", served.figure.ms_per_batch},
                              {"ratio", ratio},
                              {"small_batch_items", served.small_batch_items},
                              {"raw_memory_used_mb", Reading(raw.memory_used_mb)},
                              {"scheduler_memory_used_mb", Reading(served.figure.memory_used_mb)}});
    write_json();
  }
  return 0;
}

}  // namespace
}  // namespace accel

int main(int argc, char** argv) { return accel::Main(argc, argv); }
