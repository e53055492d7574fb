// `accel infer IMAGE [--draw OUT.jpg]`: runs one image through the pipeline in-process and prints the
// detections as JSON (the same shape as POST /ai/infer answers).
#include <fstream>
#include <iostream>
#include <iterator>
#include <thread>

#include <nlohmann/json.hpp>

#include "api/json_views.h"
#include "app/app_config.h"
#include "app/commands.h"
#include "app/service.h"
#include "core/logging.h"
#include "core/numbers.h"
#include "core/strings.h"
#include "pipeline/detection_pipeline.h"
#include "vision/draw.h"

namespace accel {
namespace {

constexpr const char* kInferUsage =
    "usage: accel infer IMAGE [options]\n\n"
    "  --models DIR        model repository (default ./models)\n"
    "  --model NAME        model (default yolox-nano)\n"
    "  --engine KIND       auto|cpu|nvidia|hailo (default auto)\n"
    "  --threshold T       minimum confidence 0..1 (default 0.4)\n"
    "  --targets A,B       keep only these labels\n"
    "  --draw OUT.jpg      also write the image with the boxes drawn\n";

}  // namespace

int RunInferCommand(const std::vector<std::string>& args) {
  std::string image_path, draw_path, engine = "auto";
  ServeConfig config;
  DetectionFilter filter;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto next = [&](std::string* out) {
      if (i + 1 >= args.size()) return false;
      *out = args[++i];
      return true;
    };
    std::string v;
    if (a == "--help" || a == "-h") {
      std::cout << kInferUsage;
      return 0;
    } else if (a == "--models" && next(&v))
      config.models_dir = v;
    else if (a == "--model" && next(&v))
      config.default_model = v;
    else if (a == "--engine" && next(&v))
      engine = v;
    else if (a == "--draw" && next(&v))
      draw_path = v;
    else if (a == "--targets" && next(&v))
      filter.targets = SplitList(v);
    else if (a == "--threshold" && next(&v)) {
      auto t = ParseNumberField("--threshold", v, 0, 1);
      if (!t.ok()) {
        std::cerr << "accel infer: " << t.status().message() << "\n";
        return 2;
      }
      filter.threshold = static_cast<float>(*t);
    } else if (!a.empty() && a[0] != '-' && image_path.empty())
      image_path = a;
    else {
      std::cerr << "accel infer: unexpected argument '" << a << "'\n" << kInferUsage;
      return 2;
    }
  }
  if (image_path.empty()) {
    std::cerr << kInferUsage;
    return 2;
  }
  std::ifstream in(image_path, std::ios::binary);
  if (!in) {
    std::cerr << "accel infer: cannot read " << image_path << "\n";
    return 1;
  }
  std::string bytes((std::istreambuf_iterator<char>(in)), {});
  SetLogLevel(LogLevel::kWarn);

  // Front ends are not started: the image goes straight into the service's pipeline.
  config.grpc_port = -1;
  config.zmq_endpoint.clear();
  auto service = Service::Create(config);
  if (!service.ok()) {
    std::cerr << "accel infer: " << service.status().message() << "\n";
    return 1;
  }
  DetectionRequest request;
  request.engine = engine;
  request.filter = filter;
  request.encoded = bytes;
  auto result = (*service)->pipeline().DetectSync(std::move(request));
  if (!result.ok()) {
    std::cout << nlohmann::json{{"success", false}, {"error", result.status().message()}}.dump(2) << "\n";
    return 1;
  }
  nlohmann::json out = {{"success", true},
                        {"image", image_path},
                        {"model_name", result->model},
                        {"engine_used", result->engine_kind},
                        {"device", result->device_id},
                        {"detections", DetectionsJson(result->detections)},
                        {"timings", TimingsJson(*result)}};
  std::cout << out.dump(2) << "\n";
  int rc = 0;
  if (!draw_path.empty()) {
    auto image = DecodeImage(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
    if (image.ok()) {
      DrawDetections(*image, result->detections);
      auto jpeg = EncodeJpeg(*image, 90);
      if (jpeg.ok()) {
        std::ofstream(draw_path, std::ios::binary)
            .write(reinterpret_cast<const char*>(jpeg->data()), static_cast<std::streamsize>(jpeg->size()));
        std::cerr << "wrote " << draw_path << "\n";
      } else {
        std::cerr << "accel infer: " << jpeg.status().message() << "\n";
        rc = 1;
      }
    }
  }
  return rc;
}

int RunDevicesCommand(const std::vector<std::string>& args) {
  ServeConfig config;
  bool json_output = false;
  for (const auto& a : args) {
    if (a == "--json")
      json_output = true;
    else if (a == "--help" || a == "-h") {
      std::cout << "usage: accel devices [--json]\n  lists the devices each engine finds, and why an engine "
                   "has none\n";
      return 0;
    } else {
      std::cerr << "accel devices: unexpected argument '" << a << "'\n";
      return 2;
    }
  }
  SetLogLevel(LogLevel::kWarn);
  EngineRegistry registry;
  BuiltinEngineConfig engine_config;
  if (Status s = RegisterBuiltinEngines(registry, engine_config); !s.ok()) {
    std::cerr << "accel devices: " << s.message() << "\n";
    return 1;
  }
  auto reports = ProbeAndCreateDevices(config, registry, nullptr);
  nlohmann::json out = nlohmann::json::array();
  for (const auto& r : reports) {
    nlohmann::json devs = nlohmann::json::array();
    for (const auto& d : r.devices) devs.push_back(DeviceInfoJson(d));
    out.push_back({{"engine", r.kind}, {"built", r.built}, {"reason", r.reason}, {"devices", devs}});
  }
  if (json_output) {
    std::cout << out.dump(2) << "\n";
    return 0;
  }
  for (const auto& r : reports) {
    std::cout << r.kind << (r.built ? "" : " (not built)") << ":\n";
    if (r.devices.empty()) std::cout << "  no device: " << r.reason << "\n";
    for (const auto& d : r.devices) {
      std::cout << "  " << d.id << "  " << d.name << (d.simulated ? "  [SIMULATED]" : "")
                << (d.test_only ? "  [TEST MODE, not a GPU]" : "") << "\n";
      for (const auto& [k, v] : d.properties) std::cout << "      " << k << ": " << v << "\n";
    }
  }
  return 0;
}

}  // namespace accel
