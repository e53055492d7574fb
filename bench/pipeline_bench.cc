// pipeline_bench: the raw in-process loop the service is compared against. One thread, no scheduler, no
// HTTP: decode JPEG -> letterbox -> cpu engine (direct Submit) -> YOLOX decode + NMS, repeated.
//
//   pipeline_bench --models DIR --image FILE [--iterations N] [--warmup N]
//   pipeline_bench --make-jpeg SRC OUT WxH     crops SRC to WxH and writes it as a JPEG (bench input)
//
// Prints one JSON line: {"images_per_s", "p50_ms", "p90_ms", "p99_ms", "engine_p50_ms", "iterations"}.
#include <algorithm>
#include <chrono>
#include <cstring>
#include <fstream>
#include <future>
#include <iostream>
#include <iterator>
#include <vector>

#include "core/model_repository.h"
#include "engines/cpu/cpu_engine.h"
#include "vision/decoder.h"
#include "vision/image.h"
#include "vision/preprocess.h"

using namespace accel;

namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * (v.size() - 1) + 0.5))];
}

int MakeJpeg(const std::string& src, const std::string& out, const std::string& size) {
  int w = 0, h = 0;
  if (std::sscanf(size.c_str(), "%dx%d", &w, &h) != 2) return 2;
  std::string bytes = ReadFile(src);
  auto image = DecodeImage(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  if (!image.ok() || image->width < w || image->height < h) {
    std::cerr << "cannot crop " << src << " to " << size << "\n";
    return 1;
  }
  Image cropped;
  cropped.width = cropped.original_width = w;
  cropped.height = cropped.original_height = h;
  cropped.rgb.resize(static_cast<size_t>(w) * h * 3);
  for (int y = 0; y < h; ++y)
    std::memcpy(&cropped.rgb[static_cast<size_t>(y) * w * 3],
                &image->rgb[static_cast<size_t>(y) * image->width * 3], static_cast<size_t>(w) * 3);
  auto jpeg = EncodeJpeg(cropped, 90);
  if (!jpeg.ok()) return 1;
  std::ofstream(out, std::ios::binary)
      .write(reinterpret_cast<const char*>(jpeg->data()), static_cast<std::streamsize>(jpeg->size()));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string models = "models", image_path, model_name = "yolox-nano";
  int iterations = 200, warmup = 10;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--make-jpeg" && i + 3 < argc) return MakeJpeg(argv[i + 1], argv[i + 2], argv[i + 3]);
    if (a == "--models" && i + 1 < argc)
      models = argv[++i];
    else if (a == "--image" && i + 1 < argc)
      image_path = argv[++i];
    else if (a == "--model" && i + 1 < argc)
      model_name = argv[++i];
    else if (a == "--iterations" && i + 1 < argc)
      iterations = std::atoi(argv[++i]);
    else if (a == "--warmup" && i + 1 < argc)
      warmup = std::atoi(argv[++i]);
    else {
      std::cerr << "usage: pipeline_bench --models DIR --image FILE [--iterations N] [--warmup N]\n";
      return 2;
    }
  }
  auto config = LoadModelConfig(std::filesystem::path(models) / model_name / "model.yaml");
  if (!config.ok()) {
    std::cerr << config.status().ToString() << "\n";
    return 1;
  }
  auto factory = MakeCpuEngineFactory();
  auto engine = factory->Create(factory->Probe().devices.at(0), {});
  if (!engine.ok() || !(*engine)->Load(*config).ok()) {
    std::cerr << "cannot load the model on the cpu engine\n";
    return 1;
  }
  const std::string bytes = ReadFile(image_path);
  std::vector<double> total_ms, engine_ms;
  const auto bench_start = std::chrono::steady_clock::now();
  auto measured_start = bench_start;
  for (int i = 0; i < warmup + iterations; ++i) {
    if (i == warmup) measured_start = std::chrono::steady_clock::now();
    const auto t0 = std::chrono::steady_clock::now();
    DecodeOptions options;
    options.min_width = config->input.width;
    options.min_height = config->input.height;
    auto image = DecodeImage(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), options);
    LetterboxTransform transform;
    auto tensor = PrepareInput(*image, config->input, &transform);
    std::promise<StatusOr<TensorList>> promise;
    Batch batch;
    batch.model = config->name;
    batch.items.push_back(BatchItem{std::make_shared<const Tensor>(std::move(tensor).value()),
                                    [&promise](StatusOr<TensorList> r) { promise.set_value(std::move(r)); }});
    const auto te0 = std::chrono::steady_clock::now();
    if (!(*engine)->Submit(batch).ok()) return 1;
    auto outputs = promise.get_future().get();
    const auto te1 = std::chrono::steady_clock::now();
    if (!outputs.ok()) return 1;
    auto detections = DecodeDetections(*config, *outputs, transform, DetectionFilter{});
    const auto t1 = std::chrono::steady_clock::now();
    if (!detections.ok()) return 1;
    if (i >= warmup) {
      total_ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
      engine_ms.push_back(std::chrono::duration<double, std::milli>(te1 - te0).count());
    }
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - measured_start).count();
  std::cout << "{\"images_per_s\": " << iterations / seconds << ", \"p50_ms\": " << Percentile(total_ms, 0.5)
            << ", \"p90_ms\": " << Percentile(total_ms, 0.9) << ", \"p99_ms\": " << Percentile(total_ms, 0.99)
            << ", \"engine_p50_ms\": " << Percentile(engine_ms, 0.5) << ", \"iterations\": " << iterations
            << "}\n";
  (*engine)->Shutdown();
  return 0;
}
