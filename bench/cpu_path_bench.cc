// cpu_path_bench: the cpu engine's path measured step by step, in one process and one run, so that every
// change to it is judged by the same command (bench/README.md, "CPU path").
//
//   cpu_path_bench --models DIR [--model NAME] --images DIR [--threads N] [--iterations N]
//                  [--camera-jpeg FILE] [--concurrency N] [--seconds S]
//
// 1. Graph rewrites, one by one: the model as it is, then each rewrite added (onnx_graph_rewrite.h). The
//    variants run interleaved, round after round on the test images, so machine noise hits them alike;
//    per variant the median latency of CpuNet::Run (the layout transforms included), the median ms per
//    OpenCV layer type, and the largest |difference| of its raw outputs from the original graph's; then
//    the default path's largest layers. In the same rounds, the xnnpack runtime at graph level
//    (XnnpackNet::Run, xnnpack_net.h) and the cpu device (the engine, through Submit) with each runtime:
//    opencv (the default graph), xnnpack, and libtorch (the TorchScript artifact, where this build has
//    libtorch and the model has one). Then the SiLU choice of the xnnpack runtime: the engine's vectorised
//    kernel in place against XNNPACK's sigmoid + multiply, on the model's largest activation.
// 2. Image preparation for one camera JPEG (--camera-jpeg FILE; default: the first test image resized to
//    1920x1080 and encoded in memory): decode at reduced scale + letterbox, medians.
// 3. Latency vs throughput mode: images/s through the scheduler with N client threads (--concurrency),
//    each mode for --seconds.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <iterator>
#include <map>
#include <set>
#include <thread>
#include <vector>

#include <future>

#include <xnnpack.h>

#include "core/model_repository.h"
#include "cpu_path_bench_runtimes.h"
#include "engines/cpu/cpu_engine.h"
#include "engines/cpu/cpu_net.h"
#include "engines/cpu/layout_transforms.h"
#include "engines/cpu/silu_kernel.h"
#include "engines/cpu/xnnpack_net.h"
#include "scheduler/scheduler.h"
#include "vision/image.h"
#include "vision/preprocess.h"

using namespace accel;
using SteadyClock = std::chrono::steady_clock;

namespace {

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

double Ms(SteadyClock::time_point a, SteadyClock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

double Median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

StatusOr<Tensor> PrepareFile(const std::string& bytes, const ModelConfig& config) {
  DecodeOptions options;
  options.min_width = config.input.width;
  options.min_height = config.input.height;
  ACCEL_ASSIGN_OR_RETURN(Image image,
                         DecodeImage(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), options));
  return PrepareInput(image, config.input, nullptr);
}

double MaxAbsDiff(const TensorList& a, const TensorList& b) {
  if (a.size() != b.size()) return INFINITY;
  double worst = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].shape() != b[i].shape()) return INFINITY;
    const float* x = a[i].data<float>();
    const float* y = b[i].data<float>();
    for (int64_t k = 0; k < a[i].num_elements(); ++k) worst = std::max(worst, std::fabs(double(x[k]) - y[k]));
  }
  return worst;
}

struct Variant {
  std::string name;
  OnnxRewriteOptions options;
  std::unique_ptr<CpuNet> net;
  std::vector<double> ms;
  std::map<std::string, std::vector<double>> layer_ms;
  std::map<std::string, std::vector<double>> single_layer_ms;  // by layer name
  double max_diff = 0;
};

// The cpu device with one runtime forced, timed through the engine (Submit to `done`).
struct RuntimeVariant {
  std::string name;
  std::unique_ptr<Engine> engine;
  std::vector<double> ms;
  double max_diff = 0;
};

StatusOr<TensorList> RunOnEngine(Engine& engine, const std::string& model, const Tensor& input) {
  std::promise<StatusOr<TensorList>> promise;
  auto future = promise.get_future();
  Batch batch;
  batch.model = model;
  auto shared = std::make_shared<const Tensor>(input.Clone());
  batch.items.push_back({shared, [&promise](StatusOr<TensorList> r) { promise.set_value(std::move(r)); }});
  if (Status s = engine.Submit(batch); !s.ok()) return s;
  return future.get();
}

std::vector<RuntimeVariant> MakeRuntimeVariants(const ModelConfig& config, int threads) {
  std::vector<RuntimeVariant> out;
  auto factory = MakeCpuEngineFactory(BenchLibtorchCpuEngineMaker());
  for (const char* runtime : {"opencv", "xnnpack", "libtorch"}) {
    auto engine =
        factory->Create(factory->Probe().devices.at(0),
                        EngineOptions{{{"threads", std::to_string(threads)}, {"runtime", runtime}}});
    Status loaded = engine.ok() ? (*engine)->Load(config) : engine.status();
    if (loaded.ok()) loaded = (*engine)->Warmup(config.name, 1);
    if (!loaded.ok()) {
      std::cerr << "cpu device, runtime " << runtime << ": not measured: " << loaded.ToString() << "\n";
      continue;
    }
    out.push_back(RuntimeVariant{std::string("cpu device, runtime ") + runtime, std::move(*engine), {}, 0});
  }
  return out;
}

int RunSteps(const ModelConfig& config, const std::vector<Tensor>& inputs, int iterations, int threads) {
  const std::filesystem::path onnx = config.ArtifactFor("cpu")->path;
  std::vector<Variant> variants;
  auto add = [&](std::string name, OnnxRewriteOptions o) {
    Variant v;
    v.name = std::move(name);
    v.options = std::move(o);
    variants.push_back(std::move(v));
  };
  OnnxRewriteOptions o = CpuNet::NoRewrite();
  add("original graph", o);
  o.cut_focus = true;
  add("+ Focus cut", o);
  o.fuse_silu = true;
  o.silu_op_type = "Swish";
  add("+ SiLU fused (OpenCV Swish)", o);
  o.silu_op_type = CpuNet::DefaultRewrite().silu_op_type;
  add("+ SiLU fused (vectorised layer)", o);
  o.cut_output_transpose = true;
  add("+ output transpose cut", o);
  o.cascade_max_pools = true;
  add("+ max-pool cascade (default)", o);
  for (auto& v : variants) {
    auto net = CpuNet::Load(config, onnx, v.options);
    if (!net.ok()) {
      std::cerr << v.name << ": " << net.status().ToString() << "\n";
      return 1;
    }
    v.net = std::move(*net);
  }
  // The xnnpack runtime at graph level, timed like the OpenCV variants.
  XnnpackNetOptions xnnpack_options;
  xnnpack_options.threads = threads;
  auto xnnpack = XnnpackNet::Load(config, onnx, xnnpack_options);
  if (!xnnpack.ok()) {
    std::cerr << "xnnpack runtime: " << xnnpack.status().ToString() << "\n";
    return 1;
  }
  std::vector<double> xnnpack_ms;
  double xnnpack_diff = 0;
  std::vector<RuntimeVariant> runtimes = MakeRuntimeVariants(config, threads);
  // Reference outputs of the original graph, one per image, for the differential check.
  std::vector<TensorList> reference;
  for (const auto& in : inputs) {
    auto out = variants[0].net->Run(in);
    if (!out.ok()) return 1;
    reference.push_back(std::move(*out));
  }
  for (int round = -3; round < iterations; ++round) {  // three warm-up rounds
    const size_t image = static_cast<size_t>(round + 3) % inputs.size();
    for (auto& v : variants) {
      const auto t0 = SteadyClock::now();
      auto out = v.net->Run(inputs[image]);
      const auto t1 = SteadyClock::now();
      if (!out.ok()) {
        std::cerr << v.name << ": " << out.status().ToString() << "\n";
        return 1;
      }
      v.max_diff = std::max(v.max_diff, MaxAbsDiff(*out, reference[image]));
      if (round < 0) continue;
      v.ms.push_back(Ms(t0, t1));
      for (const auto& [type, ms] : v.net->LastRunLayerTypeMs()) v.layer_ms[type].push_back(ms);
      for (const auto& layer : v.net->LastRunLayerMs())
        v.single_layer_ms[layer.name + " (" + layer.type + ")"].push_back(layer.ms);
    }
    {
      const auto t0 = SteadyClock::now();
      auto out = (*xnnpack)->Run(inputs[image]);
      const auto t1 = SteadyClock::now();
      if (!out.ok()) {
        std::cerr << "xnnpack runtime: " << out.status().ToString() << "\n";
        return 1;
      }
      xnnpack_diff = std::max(xnnpack_diff, MaxAbsDiff(*out, reference[image]));
      if (round >= 0) xnnpack_ms.push_back(Ms(t0, t1));
    }
    for (auto& r : runtimes) {
      const auto t0 = SteadyClock::now();
      auto out = RunOnEngine(*r.engine, config.name, inputs[image]);
      const auto t1 = SteadyClock::now();
      if (!out.ok()) {
        std::cerr << r.name << ": " << out.status().ToString() << "\n";
        return 1;
      }
      r.max_diff = std::max(r.max_diff, MaxAbsDiff(*out, reference[image]));
      if (round >= 0) r.ms.push_back(Ms(t0, t1));
    }
  }
  const double base = Median(variants[0].ms);
  std::cout
      << "| step | rewrites | median ms | speed-up | max abs diff vs original |\n|---|---|---|---|---|\n";
  for (const auto& v : variants)
    std::cout << "| " << v.name << " | " << v.net->rewrite().Summary() << " | " << std::fixed
              << std::setprecision(2) << Median(v.ms) << " | " << base / Median(v.ms) << "x | "
              << std::scientific << std::setprecision(1) << v.max_diff << std::defaultfloat << " |\n";
  std::cout << "| xnnpack runtime (graph level) | " << (*xnnpack)->Summary() << " | " << std::fixed
            << std::setprecision(2) << Median(xnnpack_ms) << " | " << base / Median(xnnpack_ms) << "x | "
            << std::scientific << std::setprecision(1) << xnnpack_diff << std::defaultfloat << " |\n";
  std::cout
      << "\nmedian ms per OpenCV layer type (layers fused into a convolution count in it):\n\n| layer type |";
  std::set<std::string> types;
  for (const auto& v : variants)
    for (const auto& [type, ms] : v.layer_ms)
      if (Median(ms) >= 0.05) types.insert(type);
  for (const auto& v : variants) std::cout << " " << v.name << " |";
  std::cout << "\n|---|";
  for (size_t i = 0; i < variants.size(); ++i) std::cout << "---|";
  std::cout << "\n";
  for (const auto& type : types) {
    std::cout << "| " << type << " |";
    for (const auto& v : variants) {
      auto it = v.layer_ms.find(type);
      std::cout << " " << std::fixed << std::setprecision(2)
                << (it == v.layer_ms.end() ? 0.0 : Median(it->second)) << " |";
    }
    std::cout << "\n";
  }
  // The default path's largest layers.
  std::vector<std::pair<double, std::string>> largest;
  for (const auto& [name, ms] : variants.back().single_layer_ms) largest.push_back({Median(ms), name});
  std::sort(largest.rbegin(), largest.rend());
  std::cout << "\nlargest layers of the default path (median ms):";
  for (size_t i = 0; i < largest.size() && i < 5; ++i)
    std::cout << (i ? ", " : " ") << largest[i].second << " " << std::fixed << std::setprecision(2)
              << largest[i].first;
  std::cout << "\n";
  // What the rewrites moved into the engine costs, on its own (inside the default path's figure above).
  const FocusCut& focus = variants.back().net->rewrite().focus;
  if (focus.active && inputs[0].shape().size() == 4) {
    const auto& shape = inputs[0].shape();
    std::vector<float> out(static_cast<size_t>(inputs[0].num_elements()));
    std::vector<double> s2d_ms, transpose_ms;
    std::vector<float> head(85 * 3549), head_t(head.size());
    for (int i = 0; i < iterations; ++i) {
      const auto t0 = SteadyClock::now();
      SpaceToDepth(inputs[0].data<float>(), shape[0], shape[1], shape[2], shape[3], focus, out.data());
      const auto t1 = SteadyClock::now();
      SwapLastTwoAxes(head.data(), 1, 85, 3549, head_t.data());
      const auto t2 = SteadyClock::now();
      s2d_ms.push_back(Ms(t0, t1));
      transpose_ms.push_back(Ms(t1, t2));
    }
    std::cout << "\nin the engine instead of the graph: space-to-depth " << std::fixed << std::setprecision(3)
              << Median(s2d_ms) << " ms, output transpose [85, 3549] " << Median(transpose_ms)
              << " ms (medians)\n";
  }
  std::cout << "\nthe cpu device per runtime (the engine, Submit to done; same rounds):\n\n"
            << "| cpu device runtime | median ms | speed-up vs original graph | max abs diff vs original |\n"
               "|---|---|---|---|\n";
  for (const auto& r : runtimes)
    std::cout << "| " << r.name << " | " << std::fixed << std::setprecision(2) << Median(r.ms) << " | "
              << base / Median(r.ms) << "x | " << std::scientific << std::setprecision(1) << r.max_diff
              << std::defaultfloat << " |\n";
  if (xnnpack_diff > 1e-3) {
    std::cerr << "xnnpack runtime: outputs differ from the original graph's by " << xnnpack_diff << "\n";
    return 1;
  }
  for (const auto& r : runtimes)
    if (r.max_diff > 1e-3) {
      std::cerr << r.name << ": outputs differ from the original graph's by " << r.max_diff << "\n";
      return 1;
    }
  for (const auto& v : variants)
    if (v.max_diff > 1e-3) {
      std::cerr << v.name << ": outputs differ from the original graph's by " << v.max_diff << "\n";
      return 1;
    }
  return 0;
}

// The xnnpack runtime's SiLU: the engine's vectorised kernel in place (what it runs) against XNNPACK's
// sigmoid operator followed by its multiply operator, single-threaded, on YOLOX-Nano's largest activation
// (32 channels at 208x208, after the first convolution).
void CompareSiluChoices(int iterations) {
  const size_t n = 208 * 208 * 32;
  std::vector<float> x(n), y(n), s(n + 16);
  for (size_t i = 0; i < n; ++i) x[i] = static_cast<float>((i * 37) % 1000) / 100.f - 5.f;
  if (xnn_initialize(nullptr) != xnn_status_success) return;
  xnn_operator_t sigmoid = nullptr, multiply = nullptr;
  const float inf = INFINITY;
  const size_t shape[1] = {n};
  if (xnn_create_sigmoid_nc_f32(1, 1, 1, 0, &sigmoid) != xnn_status_success ||
      xnn_create_multiply_nd_f32(-inf, inf, 0, &multiply) != xnn_status_success ||
      xnn_setup_sigmoid_nc_f32(sigmoid, n, x.data(), s.data(), nullptr) != xnn_status_success ||
      xnn_setup_multiply_nd_f32(multiply, 1, shape, 1, shape, x.data(), s.data(), y.data(), nullptr) !=
          xnn_status_success) {
    std::cerr << "XNNPACK sigmoid/multiply could not be set up\n";
    return;
  }
  std::vector<double> ours, theirs;
  for (int i = -3; i < iterations; ++i) {
    std::copy(x.begin(), x.end(), y.begin());
    const auto t0 = SteadyClock::now();
    Silu(y.data(), y.data(), n);
    const auto t1 = SteadyClock::now();
    xnn_run_operator(sigmoid, nullptr);
    xnn_run_operator(multiply, nullptr);
    const auto t2 = SteadyClock::now();
    if (i < 0) continue;
    ours.push_back(Ms(t0, t1));
    theirs.push_back(Ms(t1, t2));
  }
  xnn_delete_operator(sigmoid);
  xnn_delete_operator(multiply);
  std::cout << "\nxnnpack runtime's SiLU, 208x208x32, 1 thread (medians of " << iterations
            << "): vectorised kernel in place " << std::fixed << std::setprecision(3) << Median(ours)
            << " ms, XNNPACK sigmoid + multiply " << Median(theirs) << " ms\n";
}

// A camera-sized JPEG made from a test image: resized (stretched) to width x height with the letterbox
// code and encoded at quality 90, so no large binary has to live in the repository.
StatusOr<std::string> MakeCameraJpeg(const std::string& source, int width, int height) {
  ACCEL_ASSIGN_OR_RETURN(Image image,
                         DecodeImage(reinterpret_cast<const uint8_t*>(source.data()), source.size()));
  InputSpec spec;
  spec.width = width;
  spec.height = height;
  spec.channels = 3;
  spec.layout = TensorLayout::kNHWC;
  spec.color = ColorOrder::kRGB;
  spec.dtype = DType::kUInt8;
  spec.letterbox = LetterboxMode::kStretch;
  ACCEL_ASSIGN_OR_RETURN(Tensor pixels, PrepareInput(image, spec, nullptr));
  Image big;
  big.width = big.original_width = width;
  big.height = big.original_height = height;
  big.rgb.assign(pixels.bytes(), pixels.bytes() + pixels.byte_size());
  ACCEL_ASSIGN_OR_RETURN(std::vector<uint8_t> jpeg, EncodeJpeg(big, 90));
  return std::string(jpeg.begin(), jpeg.end());
}

void RunPreparation(const ModelConfig& config, const std::string& bytes, int iterations) {
  std::vector<double> decode_ms, letterbox_ms;
  int width = 0, height = 0, decoded_width = 0;
  for (int i = 0; i < iterations + 3; ++i) {
    DecodeOptions options;
    options.min_width = config.input.width;
    options.min_height = config.input.height;
    const auto t0 = SteadyClock::now();
    auto image = DecodeImage(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), options);
    const auto t1 = SteadyClock::now();
    if (!image.ok()) {
      std::cerr << "camera JPEG: " << image.status().ToString() << "\n";
      return;
    }
    auto tensor = PrepareInput(*image, config.input, nullptr);
    const auto t2 = SteadyClock::now();
    width = image->original_width, height = image->original_height, decoded_width = image->width;
    if (i < 3) continue;
    decode_ms.push_back(Ms(t0, t1));
    letterbox_ms.push_back(Ms(t1, t2));
  }
  std::cout << "\nimage preparation, " << width << "x" << height << " JPEG of " << bytes.size() / 1024
            << " KiB (decoded at width " << decoded_width << "): decode " << std::fixed
            << std::setprecision(2) << Median(decode_ms) << " ms, letterbox " << Median(letterbox_ms)
            << " ms (medians of " << iterations << ")\n";
}

// images/s with `concurrency` client threads through the scheduler, for `seconds`.
void RunMode(const ModelConfig& config, const Tensor& input, EngineOptions options, int concurrency,
             double seconds) {
  auto factory = MakeCpuEngineFactory();
  auto engine = factory->Create(factory->Probe().devices.at(0), options);
  if (!engine.ok()) {
    std::cerr << engine.status().ToString() << "\n";
    return;
  }
  const std::string label = (*engine)->device().properties.at("cpu_mode") + " mode (" +
                            (*engine)->device().properties.at("instances") + " x " +
                            (*engine)->device().properties.at("threads_per_instance") + " threads)";
  Scheduler scheduler{SchedulerOptions{}};
  if (!scheduler.AddDevice(std::move(*engine)).ok() || !scheduler.LoadModel(config).ok()) {
    std::cerr << "cannot load the model for " << label << "\n";
    return;
  }
  auto shared = std::make_shared<const Tensor>(input.Clone());
  InferenceOptions request;
  request.model = config.name;
  for (int i = 0; i < 3; ++i) (void)scheduler.Run(request, shared);
  std::atomic<int> done{0}, failed{0};
  std::vector<std::vector<double>> latencies(concurrency);
  const auto start = SteadyClock::now();
  const auto end = start + std::chrono::duration<double>(seconds);
  std::vector<std::thread> clients;
  for (int c = 0; c < concurrency; ++c)
    clients.emplace_back([&, c] {
      while (SteadyClock::now() < end) {
        const auto t0 = SteadyClock::now();
        auto result = scheduler.Run(request, shared);
        (result.ok() ? done : failed)++;
        latencies[c].push_back(Ms(t0, SteadyClock::now()));
      }
    });
  for (auto& t : clients) t.join();
  const double elapsed = std::chrono::duration<double>(SteadyClock::now() - start).count();
  std::vector<double> all;
  for (auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
  std::cout << "| " << label << " | " << concurrency << " | " << std::fixed << std::setprecision(1)
            << done / elapsed << " | " << std::setprecision(2) << Median(all) << " | " << failed << " |\n";
  scheduler.Shutdown();
}

}  // namespace

int main(int argc, char** argv) {
  // libtorch's OpenMP threads spin for milliseconds after each of its runs (libgomp's default wait
  // policy); in this one process they would take the cores from whichever runtime runs next in the
  // round (measured: the xnnpack runtime's pool at 2 threads went from about 10 ms to over 100 ms). The
  // server never interleaves runtimes like this. Set OMP_WAIT_POLICY yourself to override.
  setenv("OMP_WAIT_POLICY", "PASSIVE", /*overwrite=*/0);
  std::string models = "models", model_name = "yolox-nano", images, camera_jpeg;
  int threads = 2, iterations = 40, concurrency = 4;
  double seconds = 10;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (a == "--models")
      models = next();
    else if (a == "--model")
      model_name = next();
    else if (a == "--images")
      images = next();
    else if (a == "--camera-jpeg")
      camera_jpeg = next();
    else if (a == "--threads")
      threads = std::atoi(next().c_str());
    else if (a == "--iterations")
      iterations = std::atoi(next().c_str());
    else if (a == "--concurrency")
      concurrency = std::atoi(next().c_str());
    else if (a == "--seconds")
      seconds = std::atof(next().c_str());
    else {
      std::cerr
          << "usage: cpu_path_bench --models DIR [--model NAME] --images DIR [--threads N] [--iterations N]\n"
             "                      [--camera-jpeg FILE] [--concurrency N] [--seconds S]\n";
      return 2;
    }
  }
  auto config = LoadModelConfig(std::filesystem::path(models) / model_name / "model.yaml");
  if (!config.ok() || config->ArtifactFor("cpu") == nullptr) {
    std::cerr << (config.ok() ? "the model has no cpu artifact" : config.status().ToString()) << "\n";
    return 1;
  }
  std::vector<Tensor> inputs;
  std::vector<std::filesystem::path> files;
  if (!images.empty())
    for (const auto& entry : std::filesystem::directory_iterator(images))
      if (entry.path().extension() == ".jpg" || entry.path().extension() == ".png")
        files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  for (const auto& f : files) {
    auto tensor = PrepareFile(ReadFile(f), *config);
    if (!tensor.ok()) {
      std::cerr << f << ": " << tensor.status().ToString() << "\n";
      return 1;
    }
    inputs.push_back(std::move(*tensor));
  }
  if (inputs.empty()) {
    std::cerr << "no test images (--images DIR with .jpg or .png files)\n";
    return 2;
  }
  std::cout << "cpu path, model " << config->name << ", " << threads << " threads, " << inputs.size()
            << " test images, " << iterations << " interleaved rounds\n\n";
  CpuNet::SetThreads(threads);
  if (int rc = RunSteps(*config, inputs, iterations, threads); rc != 0) return rc;
  CompareSiluChoices(iterations);
  {
    // --camera-jpeg FILE, or by default a 1920x1080 JPEG made from the first test image.
    auto camera = camera_jpeg.empty() ? MakeCameraJpeg(ReadFile(files[0]), 1920, 1080)
                                      : StatusOr<std::string>(ReadFile(camera_jpeg));
    if (camera.ok()) RunPreparation(*config, *camera, iterations);
  }
  if (concurrency > 0 && seconds > 0) {
    std::cout
        << "\n| cpu engine | clients | images/s | median ms per request | failed |\n|---|---|---|---|---|\n";
    RunMode(*config, inputs[0], EngineOptions{{{"threads", std::to_string(threads)}}}, concurrency, seconds);
    RunMode(*config, inputs[0], EngineOptions{{{"mode", "throughput"}}}, concurrency, seconds);
  }
  return 0;
}
