#include "api/infer_request_parser.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>

#include "api/base64.h"
#include "api/client_json.h"
#include "api/multipart.h"
#include "core/numbers.h"
#include "core/strings.h"

namespace accel {
namespace {

using Fields = std::map<std::string, std::string>;

std::string MediaType(std::string_view content_type) {
  std::string t(content_type.substr(0, content_type.find(';')));
  while (!t.empty() && t.back() == ' ') t.pop_back();
  std::transform(t.begin(), t.end(), t.begin(), [](unsigned char c) { return std::tolower(c); });
  return t;
}

// A JSON list of labels ("targets"), read without copying or re-serialising client JSON.
StatusOr<std::vector<std::string>> LabelList(const nlohmann::json& list) {
  if (!list.is_array()) return InvalidArgument("'targets' must be a list of labels");
  std::vector<std::string> labels;
  labels.reserve(list.size());
  for (const auto& t : list) {
    if (!t.is_string()) return InvalidArgument("'targets' must be a list of labels");
    labels.push_back(t.get<std::string>());
  }
  return labels;
}

// Applies the common fields (already as strings) to the request.
Status ApplyFields(const Fields& fields, const InferParseOptions& options, ParsedInferRequest& out) {
  DetectionRequest& d = out.detection;
  auto get = [&fields](std::initializer_list<const char*> names) -> const std::string* {
    for (const char* n : names)
      if (auto it = fields.find(n); it != fields.end()) return &it->second;
    return nullptr;
  };
  if (auto* v = get({"model_name", "model"})) d.model = *v;
  d.engine = options.default_engine;
  if (auto* v = get({"engine"}); v && !v->empty()) {
    std::string e = *v;
    std::transform(e.begin(), e.end(), e.begin(), [](unsigned char c) { return std::tolower(c); });
    const bool known = e == "auto" || std::find(options.known_engines.begin(), options.known_engines.end(),
                                                e) != options.known_engines.end();
    if (!known) {
      std::string list = "auto";
      for (const auto& k : options.known_engines) list += ", " + k;
      return InvalidArgument("unknown engine '" + *v + "' (known: " + list + ")");
    }
    d.engine = e;
  }
  d.filter.threshold = options.default_threshold;
  if (auto* v = get({"threshold", "min_confidence"}); v && !v->empty()) {
    ACCEL_ASSIGN_OR_RETURN(double t, ParseNumberField("threshold", *v, 0, 1));
    d.filter.threshold = static_cast<float>(t);
  }
  d.filter.max_results = options.default_max_results;
  if (auto* v = get({"max_results"}); v && !v->empty()) {
    ACCEL_ASSIGN_OR_RETURN(int64_t n, ParseIntegerField("max_results", *v, 1, 1000));
    d.filter.max_results = static_cast<int>(n);
  }
  if (auto* v = get({"timeout_ms"}); v && !v->empty()) {
    ACCEL_ASSIGN_OR_RETURN(double ms, ParseNumberField("timeout_ms", *v, 1, 3'600'000));
    d.deadline =
        std::chrono::steady_clock::now() + std::chrono::microseconds(static_cast<int64_t>(ms * 1000));
  }
  if (auto* v = get({"targets"}); v && !v->empty()) {
    if (v->front() == '[') {
      ACCEL_ASSIGN_OR_RETURN(auto list, ParseClientJson(*v, "'targets'"));
      ACCEL_ASSIGN_OR_RETURN(d.filter.targets, LabelList(list));
    } else {
      d.filter.targets = SplitList(*v);
    }
  }
  if (auto* v = get({"api_key"})) out.api_key = *v;
  if (auto* v = get({"cache"}); v && !v->empty()) {
    auto use = ParseBool(*v);
    if (!use.ok()) return InvalidArgument("'cache' must be true or false");
    d.use_cache = *use;
  }
  return Status::Ok();
}

Status SetBase64Image(const std::string& text, ParsedInferRequest& out) {
  auto bytes = Base64Decode(StripDataUrlPrefix(text));
  if (!bytes.ok()) return bytes.status().WithContext("'image_base64'");
  if (bytes->empty()) return InvalidArgument("'image_base64' is empty");
  out.detection.encoded.assign(bytes->begin(), bytes->end());
  return Status::Ok();
}

// The seed format: H x W x C nested array of integers 0..255, C = 3 (RGB) or 4 (RGBA, alpha dropped),
// every row and pixel the same length.
StatusOr<Image> ImageFromNestedArray(const nlohmann::json& rows, const ImageLimits& limits) {
  if (!rows.is_array() || rows.empty()) return InvalidArgument("'image' must be a non-empty H x W x 3 array");
  const size_t height = rows.size();
  if (!rows[0].is_array() || rows[0].empty()) return InvalidArgument("'image' rows must be non-empty arrays");
  const size_t width = rows[0].size();
  if (static_cast<long long>(width) > limits.max_width ||
      static_cast<long long>(height) > limits.max_height ||
      static_cast<long long>(width * height) > limits.max_pixels)
    return PayloadTooLarge("'image' is " + std::to_string(width) + "x" + std::to_string(height) +
                           ", over the limit of " + std::to_string(limits.max_width) + "x" +
                           std::to_string(limits.max_height));
  if (!rows[0][0].is_array()) return InvalidArgument("'image' must be nested as rows of pixels of [R, G, B]");
  const size_t channels = rows[0][0].size();
  if (channels != 3 && channels != 4)
    return InvalidArgument("'image' pixels must have 3 (RGB) or 4 (RGBA) values, got " +
                           std::to_string(channels));
  std::vector<uint8_t> rgb(width * height * 3);
  size_t o = 0;
  for (size_t y = 0; y < height; ++y) {
    const auto& row = rows[y];
    if (!row.is_array() || row.size() != width)
      return InvalidArgument("'image' is ragged: row " + std::to_string(y) + " does not have " +
                             std::to_string(width) + " pixels");
    for (size_t x = 0; x < width; ++x) {
      const auto& px = row[x];
      if (!px.is_array() || px.size() != channels)
        return InvalidArgument("'image' is ragged: pixel (" + std::to_string(y) + ", " + std::to_string(x) +
                               ") does not have " + std::to_string(channels) + " values");
      for (size_t c = 0; c < 3; ++c) {
        const auto& v = px[c];
        if (!v.is_number_integer() && !v.is_number_unsigned())
          return InvalidArgument("'image' values must be integers 0..255");
        const auto n = v.get<long long>();
        if (n < 0 || n > 255) return InvalidArgument("'image' values must be integers 0..255");
        rgb[o++] = static_cast<uint8_t>(n);
      }
      if (channels == 4 && !px[3].is_number())
        return InvalidArgument("'image' values must be integers 0..255");
    }
  }
  return ImageFromRgb(std::move(rgb), static_cast<int>(width), static_cast<int>(height), limits);
}

Status ParseJsonBody(const HttpRequest& request, const InferParseOptions& options, ParsedInferRequest& out) {
  ACCEL_ASSIGN_OR_RETURN(const nlohmann::json body, ParseClientJson(request.body, "request body"));
  if (!body.is_object()) return InvalidArgument("request body must be a JSON object");
  Fields fields;
  for (const char* key : {"model_name", "model", "engine", "threshold", "min_confidence", "max_results",
                          "timeout_ms", "api_key", "cache"}) {
    if (!body.contains(key) || body[key].is_null()) continue;
    const auto& v = body[key];
    if (v.is_boolean())
      fields[key] = v.get<bool>() ? "true" : "false";
    else if (v.is_string())
      fields[key] = v.get<std::string>();
    else if (v.is_number())
      fields[key] = v.dump();
    else
      return InvalidArgument(std::string("'") + key + "' must be a string or a number");
  }
  std::optional<std::vector<std::string>> target_list;
  if (body.contains("targets") && !body["targets"].is_null()) {
    const auto& t = body["targets"];
    if (t.is_string()) {
      fields["targets"] = t.get<std::string>();
    } else {
      ACCEL_ASSIGN_OR_RETURN(target_list, LabelList(t));
    }
  }
  ACCEL_RETURN_IF_ERROR(ApplyFields(fields, options, out));
  if (target_list) out.detection.filter.targets = std::move(*target_list);
  const bool has_array = body.contains("image") && !body["image"].is_null();
  const bool has_b64 = body.contains("image_base64") && !body["image_base64"].is_null();
  if (has_array && has_b64) return InvalidArgument("send either 'image' or 'image_base64', not both");
  if (has_b64) {
    if (!body["image_base64"].is_string()) return InvalidArgument("'image_base64' must be a string");
    return SetBase64Image(body["image_base64"].get<std::string>(), out);
  }
  if (has_array) {
    if (body["image"].is_string()) return SetBase64Image(body["image"].get<std::string>(), out);
    ACCEL_ASSIGN_OR_RETURN(Image image, ImageFromNestedArray(body["image"], options.limits));
    out.detection.image = std::move(image);
    return Status::Ok();
  }
  return InvalidArgument("missing image: send 'image' (H x W x 3 array) or 'image_base64'");
}

Status ParseMultipartBody(const HttpRequest& request, const InferParseOptions& options,
                          ParsedInferRequest& out) {
  ACCEL_ASSIGN_OR_RETURN(auto parts, ParseMultipart(request.body, request.Header("Content-Type")));
  Fields fields;
  const MultipartPart* image = nullptr;
  for (const auto& p : parts) {
    if (p.name == "image" || (!image && !p.filename.empty() && p.name != "image_base64")) {
      if (!image || p.name == "image") image = &p;
      continue;
    }
    fields[p.name] = std::string(p.data);
  }
  ACCEL_RETURN_IF_ERROR(ApplyFields(fields, options, out));
  if (image) {
    if (image->data.empty()) return InvalidArgument("the 'image' file is empty");
    out.detection.encoded.assign(image->data.begin(), image->data.end());
    return Status::Ok();
  }
  if (auto it = fields.find("image_base64"); it != fields.end()) return SetBase64Image(it->second, out);
  return InvalidArgument("missing image: send the file in a multipart field named 'image'");
}

}  // namespace

bool CacheControlNoCache(const HttpRequest& request) {
  std::string value(request.Header("Cache-Control"));
  std::transform(value.begin(), value.end(), value.begin(), [](unsigned char c) { return std::tolower(c); });
  return value.find("no-cache") != std::string::npos || value.find("no-store") != std::string::npos;
}

StatusOr<ParsedInferRequest> ParseInferRequest(const HttpRequest& request, const InferParseOptions& options) {
  ParsedInferRequest out;
  if (request.body.empty()) return InvalidArgument("empty request body: send an image");
  const std::string type = MediaType(request.Header("Content-Type"));
  if (type == "application/json" || type.empty()) {
    if (type.empty() && !request.body.empty() && request.body.front() != '{')
      return UnsupportedMediaType(
          "missing Content-Type: send application/json, multipart/form-data or image/*");
    ACCEL_RETURN_IF_ERROR(ParseJsonBody(request, options, out));
  } else if (type == "multipart/form-data") {
    ACCEL_RETURN_IF_ERROR(ParseMultipartBody(request, options, out));
  } else if (type == "application/x-www-form-urlencoded") {
    ACCEL_ASSIGN_OR_RETURN(auto pairs, ParseUrlEncodedForm(request.body));
    Fields fields(pairs.begin(), pairs.end());
    ACCEL_RETURN_IF_ERROR(ApplyFields(fields, options, out));
    auto it = fields.find("image_base64");
    if (it == fields.end()) it = fields.find("image");
    if (it == fields.end()) return InvalidArgument("missing image: send 'image_base64'");
    ACCEL_RETURN_IF_ERROR(SetBase64Image(it->second, out));
  } else if (type == "image/jpeg" || type == "image/jpg" || type == "image/png" ||
             type == "application/octet-stream") {
    Fields fields;
    for (const char* key : {"model_name", "model", "engine", "threshold", "min_confidence", "targets",
                            "max_results", "timeout_ms", "api_key", "cache"})
      if (auto v = request.QueryParam(key)) fields[key] = *v;
    ACCEL_RETURN_IF_ERROR(ApplyFields(fields, options, out));
    out.detection.encoded = request.body;
  } else {
    return UnsupportedMediaType("unsupported Content-Type '" + type +
                                "': send application/json, multipart/form-data, "
                                "application/x-www-form-urlencoded or image/jpeg|png");
  }
  if (CacheControlNoCache(request)) out.detection.use_cache = false;
  return out;
}

}  // namespace accel
