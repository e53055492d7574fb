// `accel infer IMAGE [--draw OUT.jpg]`: runs one image through the pipeline in-process and prints the
// detections as JSON (the same shape as POST /ai/infer answers).
#include <fstream>
#include <iostream>
#include <iterator>
#include <thread>

#include <nlohmann/json.hpp>

#include "api/json_views.h"
#include "app/app_config.h"
#include "app/command_line.h"
#include "app/commands.h"
#include "app/service.h"
#include "core/logging.h"
#include "core/numbers.h"
#include "core/strings.h"
#include "pipeline/detection_pipeline.h"
#include "vision/draw.h"

namespace accel {
namespace {

struct InferArgs {
  ServeConfig config;
  std::string engine = "auto";
  std::string draw_path;
  DetectionFilter filter;
};

std::vector<CommandOption> InferOptions(InferArgs& a) {
  return {
      {"--models", "", "DIR", "model repository (default ./models)", StringValue(&a.config.models_dir)},
      {"--model", "", "NAME", "model (default yolox-nano)", StringValue(&a.config.default_model)},
      {"--engine", "", "KIND", "auto or an engine kind, as `accel devices` lists them (default auto)",
       StringValue(&a.engine)},
      {"--threshold", "", "T", "minimum confidence 0..1 (default 0.4)",
       [&a](const std::string& v) -> Status {
         ACCEL_ASSIGN_OR_RETURN(double t, ParseNumberField("threshold", v, 0, 1));
         a.filter.threshold = static_cast<float>(t);
         return Status::Ok();
       }},
      {"--targets", "", "A,B", "keep only these labels",
       [&a](const std::string& v) {
         a.filter.targets = SplitList(v);
         return Status::Ok();
       }},
      {"--draw", "", "OUT.jpg", "also write the image with the boxes drawn", StringValue(&a.draw_path)},
  };
}

constexpr const char* kInferSynopsis = "infer IMAGE [options]";
constexpr const char* kInferDescription =
    "Runs one image through the model in-process and prints the detections as JSON.\n";

}  // namespace

int RunInferCommand(const std::vector<std::string>& args) {
  InferArgs parsed_args;
  const auto options = InferOptions(parsed_args);
  for (const auto& a : args)
    if (a == "--help" || a == "-h") {
      std::cout << CommandUsage(kInferSynopsis, kInferDescription, options);
      return 0;
    }
  auto positional = ParseCommandLine("infer", options, args, /*read_env=*/false);
  if (!positional.ok() || positional->size() > 1) {
    std::cerr << "accel infer: "
              << (positional.ok() ? "unexpected argument '" + (*positional)[1] + "'"
                                  : positional.status().message())
              << "\n"
              << CommandUsage(kInferSynopsis, kInferDescription, options);
    return 2;
  }
  ServeConfig& config = parsed_args.config;
  const std::string image_path = positional->empty() ? "" : positional->front();
  const std::string& draw_path = parsed_args.draw_path;
  if (image_path.empty()) {
    std::cerr << CommandUsage(kInferSynopsis, kInferDescription, options);
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
  request.engine = parsed_args.engine;
  request.filter = parsed_args.filter;
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
  const std::vector<CommandOption> options = {
      {"--json", "", "", "print JSON instead of text", BoolValue("json", &json_output)}};
  constexpr const char* kDescription = "Lists the devices each engine finds, and why an engine has none.\n";
  for (const auto& a : args)
    if (a == "--help" || a == "-h") {
      std::cout << CommandUsage("devices [--json]", kDescription, options);
      return 0;
    }
  auto positional = ParseCommandLine("devices", options, args, /*read_env=*/false);
  if (!positional.ok() || !positional->empty()) {
    std::cerr << "accel devices: "
              << (positional.ok() ? "unexpected argument '" + (*positional)[0] + "'"
                                  : positional.status().message())
              << "\n";
    return 2;
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
