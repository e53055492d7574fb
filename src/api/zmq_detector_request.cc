#include "api/zmq_detector_request.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <iterator>

#include "api/client_json.h"
#include "core/tensor.h"

namespace accel {
namespace {

using nlohmann::json;

StatusOr<Image> TensorToImage(const json& header, const std::string& data, const ZmqRequestOptions& options) {
  ACCEL_ASSIGN_OR_RETURN(const json* shape_json, OptionalField(header, "shape", json::value_t::array));
  if (!shape_json) return InvalidArgument("header has no 'shape' array");
  std::vector<int64_t> shape;
  for (const auto& d : *shape_json) {
    if (!d.is_number_integer() || d.get<int64_t>() <= 0 || d.get<int64_t>() > 1 << 16)
      return InvalidArgument("shape entries must be positive integers up to 65536");
    shape.push_back(d.get<int64_t>());
  }
  ACCEL_ASSIGN_OR_RETURN(auto dtype_field, OptionalString(header, "dtype"));
  const std::string dtype = dtype_field.value_or("");
  size_t elem = 0;
  if (dtype == "uint8")
    elem = 1;
  else if (dtype == "float32")
    elem = 4;
  else
    return InvalidArgument("dtype '" + dtype + "' is not supported (uint8 or float32)");
  int64_t h = 0, w = 0;
  bool nchw = false;
  if (shape.size() == 4 && shape[0] == 1 && shape[3] == 3) {
    h = shape[1], w = shape[2];
  } else if (shape.size() == 4 && shape[0] == 1 && shape[1] == 3) {
    h = shape[2], w = shape[3], nchw = true;
  } else if (shape.size() == 3 && shape[2] == 3) {
    h = shape[0], w = shape[1];
  } else {
    return InvalidArgument("shape " + ShapeToString(shape) + " is not [1,H,W,3], [H,W,3] or [1,3,H,W]");
  }
  // Before any allocation: the image limits bound what the pipeline will take anyway.
  const ImageLimits& limits = options.limits;
  if (w > limits.max_width || h > limits.max_height || w * h > limits.max_pixels)
    return PayloadTooLarge("tensor image " + std::to_string(w) + "x" + std::to_string(h) +
                           " is over the limit of " + std::to_string(limits.max_width) + "x" +
                           std::to_string(limits.max_height));
  const size_t pixels = static_cast<size_t>(h) * static_cast<size_t>(w);
  if (data.size() != pixels * 3 * elem)
    return InvalidArgument("tensor has " + std::to_string(data.size()) + " bytes; shape " +
                           ShapeToString(shape) + " of " + dtype + " needs " +
                           std::to_string(pixels * 3 * elem));
  std::vector<uint8_t> rgb(pixels * 3);
  float scale = 1.0f;
  if (elem == 4) {
    // Frigate's input_dtype float sends 0..1, float_denorm 0..255; tell them apart by range.
    float max_v = 0;
    for (size_t i = 0; i < pixels * 3; ++i) {
      float v;
      std::memcpy(&v, data.data() + i * 4, 4);
      if (!std::isfinite(v)) return InvalidArgument("tensor holds a non-finite value");
      max_v = std::max(max_v, v);
    }
    scale = max_v <= 1.0f + 1e-3f ? 255.0f : 1.0f;
  }
  auto value = [&](size_t i) -> uint8_t {
    if (elem == 1) return static_cast<uint8_t>(data[i]);
    float v;
    std::memcpy(&v, data.data() + i * 4, 4);
    return static_cast<uint8_t>(std::clamp(std::lround(v * scale), 0L, 255L));
  };
  for (size_t p = 0; p < pixels; ++p) {
    for (int c = 0; c < 3; ++c) {
      const size_t src = nchw ? c * pixels + p : p * 3 + c;
      const int dst_c = options.bgr ? 2 - c : c;
      rgb[p * 3 + dst_c] = value(src);
    }
  }
  return ImageFromRgb(std::move(rgb), static_cast<int>(w), static_cast<int>(h), limits);
}

}  // namespace

ZmqMessage SplitZmqEnvelope(ZmqFrames frames) {
  if (frames.empty()) return {};
  size_t split = 0;
  while (split < frames.size() && !frames[split].empty()) ++split;
  if (split == frames.size()) split = 0;  // no delimiter: only the identity frame is the envelope
  ZmqMessage m;
  m.envelope.assign(std::make_move_iterator(frames.begin()),
                    std::make_move_iterator(frames.begin() + static_cast<long>(split + 1)));
  m.body.assign(std::make_move_iterator(frames.begin() + static_cast<long>(split + 1)),
                std::make_move_iterator(frames.end()));
  return m;
}

StatusOr<ZmqRequest> ParseZmqRequest(const ZmqFrames& body, const ZmqRequestOptions& options) {
  if (body.empty()) return InvalidArgument("empty request");
  ACCEL_ASSIGN_OR_RETURN(const json header, ParseClientJson(body[0], "the zmq header"));
  if (!header.is_object()) return InvalidArgument("the first frame must be a JSON object header");
  ACCEL_ASSIGN_OR_RETURN(auto model_request, OptionalBool(header, "model_request"));
  ACCEL_ASSIGN_OR_RETURN(auto model_data, OptionalBool(header, "model_data"));
  ZmqRequest request;
  if (model_request.value_or(false) || model_data.value_or(false)) {
    request.kind =
        model_request.value_or(false) ? ZmqRequest::Kind::kModelRequest : ZmqRequest::Kind::kModelData;
    ACCEL_ASSIGN_OR_RETURN(auto name, OptionalString(header, "model_name"));
    request.model_name = name.value_or("");
    return request;
  }
  if (body.size() != 2)
    return InvalidArgument("expected 2 frames [header, tensor], got " + std::to_string(body.size()));
  ACCEL_ASSIGN_OR_RETURN(request.image, TensorToImage(header, body[1], options));
  return request;
}

}  // namespace accel
