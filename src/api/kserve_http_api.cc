#include "api/kserve_http_api.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <thread>

#include "api/ai_api.h"
#include "api/client_json.h"
#include "api/infer_request_parser.h"
#include "core/logging.h"
#include "core/numbers.h"

namespace accel {
namespace {

using nlohmann::json;

HttpResponse KServeError(const Status& status) {
  HttpResponse r;
  r.status = HttpStatusFor(status.code());
  r.body = json{{"error", status.message()}}.dump();
  if (status.code() == StatusCode::kResourceExhausted) r.headers.emplace_back("Retry-After", "1");
  return r;
}

HttpResponse JsonOk(const json& body) {
  HttpResponse r;
  r.body = body.dump();
  return r;
}

// Triton answers health and readiness with an empty body: 200 yes, 400 no.
HttpResponse EmptyStatus(bool yes) {
  HttpResponse r;
  r.status = yes ? 200 : 400;
  r.content_type.clear();
  return r;
}

template <typename T>
void Append(std::string& out, T v) {
  out.append(reinterpret_cast<const char*>(&v), sizeof(T));
}

template <typename T>
T Load(const char* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

// Appends one JSON element as `datatype` to `out`; range-checked so a 300 in a UINT8 tensor is an error.
Status AppendElement(const std::string& datatype, const json& v, std::string& out) {
  auto bad = [&](const char* what) {
    return InvalidArgument(std::string("tensor data element ") + v.dump().substr(0, 40) + " is not " + what +
                           " (datatype " + datatype + ")");
  };
  if (datatype == "BYTES") {
    if (!v.is_string()) return bad("a string");
    AppendBytesElement(out, v.get_ref<const std::string&>());
    return Status::Ok();
  }
  if (datatype == "BOOL") {
    if (!v.is_boolean()) return bad("a boolean");
    out.push_back(v.get<bool>() ? 1 : 0);
    return Status::Ok();
  }
  if (!v.is_number()) return bad("a number");
  if (datatype == "FP32" || datatype == "FP64") {
    const double d = v.get<double>();
    if (datatype == "FP32")
      Append(out, static_cast<float>(d));
    else
      Append(out, d);
    return Status::Ok();
  }
  if (!v.is_number_integer()) return bad("an integer");
  auto in_range = [&](long double lo, long double hi) {
    const long double x = v.is_number_unsigned() ? static_cast<long double>(v.get<uint64_t>())
                                                 : static_cast<long double>(v.get<int64_t>());
    return x >= lo && x <= hi;
  };
#define ACCEL_INT_CASE(name, T)                                                                            \
  if (datatype == name) {                                                                                  \
    if (!in_range(static_cast<long double>(std::numeric_limits<T>::min()),                                 \
                  static_cast<long double>(std::numeric_limits<T>::max())))                                \
      return bad("in range");                                                                              \
    Append(out,                                                                                            \
           v.is_number_unsigned() ? static_cast<T>(v.get<uint64_t>()) : static_cast<T>(v.get<int64_t>())); \
    return Status::Ok();                                                                                   \
  }
  ACCEL_INT_CASE("UINT8", uint8_t)
  ACCEL_INT_CASE("INT8", int8_t)
  ACCEL_INT_CASE("UINT16", uint16_t)
  ACCEL_INT_CASE("INT16", int16_t)
  ACCEL_INT_CASE("UINT32", uint32_t)
  ACCEL_INT_CASE("INT32", int32_t)
  ACCEL_INT_CASE("UINT64", uint64_t)
  ACCEL_INT_CASE("INT64", int64_t)
#undef ACCEL_INT_CASE
  return InvalidArgument("datatype " + datatype + " cannot be sent as JSON data; use binary data");
}

// "data" may be flat or nested (row-major); both flatten to the same element sequence.
Status FlattenData(const std::string& datatype, const json& data, std::string& out, int64_t& count,
                   int depth) {
  if (depth > 32) return InvalidArgument("tensor data is nested too deeply");
  if (data.is_array()) {
    for (const auto& e : data) ACCEL_RETURN_IF_ERROR(FlattenData(datatype, e, out, count, depth + 1));
    return Status::Ok();
  }
  ++count;
  return AppendElement(datatype, data, out);
}

// The "parameters" object of `owner` (request, input or output), read in place: never copied.
StatusOr<KServeParameters> ParseParameters(const json& owner, const std::string& where) {
  KServeParameters params;
  auto it = owner.find("parameters");
  if (it == owner.end() || it->is_null()) return params;
  if (!it->is_object()) return InvalidArgument(where + " parameters must be a JSON object");
  for (const auto& [k, v] : it->items()) {
    if (v.is_boolean())
      params[k] = v.get<bool>();
    else if (v.is_number_integer())
      params[k] = v.is_number_unsigned() ? static_cast<int64_t>(v.get<uint64_t>()) : v.get<int64_t>();
    else if (v.is_number())
      params[k] = v.get<double>();
    else if (v.is_string())
      params[k] = v.get<std::string>();
    else
      return InvalidArgument(where + " parameter '" + k + "' must be a boolean, number or string");
  }
  return params;
}

json DataToJson(const KServeOutput& out) {
  json arr = json::array();
  const std::string& d = out.datatype;
  const char* p = out.data.data();
  const size_t n = out.data.size();
  if (d == "BYTES") {
    auto elements = SplitBytesElements(out.data);
    if (elements.ok())
      for (auto e : *elements) arr.push_back(std::string(e));
    return arr;
  }
  const size_t size = KServeElementSize(d);
  if (size == 0) return arr;
  for (size_t i = 0; i + size <= n; i += size) {
    if (d == "FP32")
      arr.push_back(Load<float>(p + i));
    else if (d == "FP64")
      arr.push_back(Load<double>(p + i));
    else if (d == "UINT8")
      arr.push_back(Load<uint8_t>(p + i));
    else if (d == "INT8")
      arr.push_back(Load<int8_t>(p + i));
    else if (d == "INT32")
      arr.push_back(Load<int32_t>(p + i));
    else if (d == "INT64")
      arr.push_back(Load<int64_t>(p + i));
    else if (d == "UINT32")
      arr.push_back(Load<uint32_t>(p + i));
    else if (d == "BOOL")
      arr.push_back(p[i] != 0);
    else
      return json::array();  // FP16 & co: only as binary data (the caller forces binary for these)
  }
  return arr;
}

bool JsonRenderable(const std::string& d) { return d != "FP16" && d != "BF16" && KServeElementSize(d) != 2; }

json MetadataJson(const KServeModelMetadata& m) {
  auto tensors = [](const std::vector<KServeTensorMetadata>& list) {
    json arr = json::array();
    for (const auto& t : list)
      arr.push_back({{"name", t.name}, {"datatype", t.datatype}, {"shape", t.shape}});
    return arr;
  };
  return {{"name", m.name},
          {"versions", m.versions},
          {"platform", m.platform},
          {"inputs", tensors(m.inputs)},
          {"outputs", tensors(m.outputs)}};
}

void HandleInfer(ServiceContext& ctx, KServeBackend& backend, HttpRequest&& request, const std::string& model,
                 const std::string& version, HttpResponder respond) {
  const SteadyTime started = Clock::Real()->Now();
  auto header_length = ParseInferenceHeaderLength(request.Header("Inference-Header-Content-Length"));
  if (!header_length.ok()) return respond(KServeError(header_length.status()));
  auto parsed = std::make_shared<KServeHttpParsed>();
  auto body = std::make_shared<std::string>(std::move(request.body));
  Status s = ParseKServeHttpInfer(*body, *header_length, *parsed);
  if (!s.ok()) {
    RecordApiRequest(ctx, "kserve_http", model, "", HttpStatusFor(s.code()), started);
    return respond(KServeError(s));
  }
  parsed->request.model = model;
  parsed->request.version = version;
  if (CacheControlNoCache(request)) parsed->request.parameters["cache"] = false;
  backend.Infer(parsed->request, [&ctx, parsed, body, started,
                                  respond = std::move(respond)](StatusOr<KServeResponse> result) {
    if (!result.ok()) {
      RecordApiRequest(ctx, "kserve_http", parsed->request.model, "", HttpStatusFor(result.status().code()),
                       started);
      return respond(KServeError(result.status()));
    }
    std::optional<size_t> out_header_length;
    HttpResponse r;
    r.body = RenderKServeHttpResponse(*result, *parsed, &out_header_length);
    if (out_header_length) {
      r.content_type = "application/octet-stream";
      r.headers.emplace_back("Inference-Header-Content-Length", std::to_string(*out_header_length));
    }
    r.headers.emplace_back(kCacheHeader, result->cache);
    RecordApiRequest(ctx, "kserve_http", parsed->request.model, result->device_id, 200, started);
    respond(std::move(r));
  });
}

// Repository load/unload block; run them off the I/O thread.
void RunControl(std::function<Status()> op, HttpResponder respond) {
  std::thread([op = std::move(op), respond = std::move(respond)]() mutable {
    Status s = op();
    if (!s.ok()) return respond(KServeError(s));
    HttpResponse r;
    r.body = "{}";
    respond(std::move(r));
  }).detach();
}

}  // namespace

Status ParseKServeModelPath(const std::string& raw_path, const std::string& prefix, std::string& model,
                            std::string& version, std::string& action) {
  std::string path = raw_path;
  while (path.size() > prefix.size() && path.back() == '/') path.pop_back();
  std::vector<std::string> parts;
  size_t pos = prefix.size();
  while (pos <= path.size()) {
    size_t next = path.find('/', pos);
    if (next == std::string::npos) next = path.size();
    parts.push_back(path.substr(pos, next - pos));
    pos = next + 1;
  }
  if (parts.empty() || parts[0].empty()) return InvalidArgument("no model name in " + raw_path);
  auto decoded = UrlDecodeStrict(parts[0], false);
  if (!decoded.ok()) return decoded.status();
  model = *decoded;
  size_t i = 1;
  if (parts.size() >= 3 && parts[1] == "versions") {
    version = parts[2];
    i = 3;
  }
  if (parts.size() > i + 1) return NotFound("no such endpoint: " + raw_path);
  action = parts.size() == i + 1 ? parts[i] : "";
  return Status::Ok();
}

StatusOr<std::optional<size_t>> ParseInferenceHeaderLength(std::string_view header) {
  if (header.empty()) return std::optional<size_t>();
  size_t n = 0;
  auto [ptr, ec] = std::from_chars(header.data(), header.data() + header.size(), n);
  if (ec != std::errc() || ptr != header.data() + header.size())
    return InvalidArgument("Inference-Header-Content-Length is not a number");
  return std::optional<size_t>(n);
}

Status ParseKServeHttpInfer(std::string_view body, std::optional<size_t> header_length,
                            KServeHttpParsed& parsed) {
  std::string_view json_text = body;
  std::string_view binary;
  if (header_length) {
    if (*header_length > body.size())
      return InvalidArgument("Inference-Header-Content-Length " + std::to_string(*header_length) +
                             " exceeds the body size " + std::to_string(body.size()));
    json_text = body.substr(0, *header_length);
    binary = body.substr(*header_length);
  }
  // Triton's wording for a body that does not parse; clients match on it.
  auto parsed_json = ParseClientJson(json_text, "the request JSON");
  if (!parsed_json.ok())
    return InvalidArgument("failed to parse the request JSON buffer: " + parsed_json.status().message());
  const json& j = *parsed_json;
  if (!j.is_object()) return InvalidArgument("the request body must be a JSON object");
  KServeRequest& req = parsed.request;
  if (j.contains("id")) {
    if (!j["id"].is_string()) return InvalidArgument("'id' must be a string");
    req.id = j["id"].get<std::string>();
  }
  ACCEL_ASSIGN_OR_RETURN(req.parameters, ParseParameters(j, "request"));
  if (auto it = req.parameters.find("binary_data_output"); it != req.parameters.end()) {
    const bool* b = std::get_if<bool>(&it->second);
    if (!b) return InvalidArgument("parameter 'binary_data_output' must be a boolean");
    parsed.all_binary = *b;
  }
  if (!j.contains("inputs") || !j["inputs"].is_array() || j["inputs"].empty())
    return InvalidArgument("the request must have a non-empty 'inputs' array");
  size_t binary_pos = 0;
  for (const auto& ji : j["inputs"]) {
    if (!ji.is_object()) return InvalidArgument("each input must be a JSON object");
    KServeInput in;
    if (!ji.contains("name") || !ji["name"].is_string()) return InvalidArgument("an input has no 'name'");
    in.name = ji["name"].get<std::string>();
    if (!ji.contains("datatype") || !ji["datatype"].is_string())
      return InvalidArgument("input '" + in.name + "' has no 'datatype'");
    in.datatype = ji["datatype"].get<std::string>();
    if (!IsKnownKServeDatatype(in.datatype))
      return InvalidArgument("input '" + in.name + "' has unknown datatype '" + in.datatype + "'");
    if (!ji.contains("shape") || !ji["shape"].is_array())
      return InvalidArgument("input '" + in.name + "' has no 'shape' array");
    for (const auto& d : ji["shape"]) {
      if (!d.is_number_integer() || d.get<int64_t>() < 0)
        return InvalidArgument("input '" + in.name + "' shape must be non-negative integers");
      in.shape.push_back(d.get<int64_t>());
    }
    ACCEL_RETURN_IF_ERROR(ValidateInputShape(in.name, in.datatype, in.shape));
    const int64_t elements = ShapeElementCount(in.shape);
    ACCEL_ASSIGN_OR_RETURN(KServeParameters params, ParseParameters(ji, "input"));
    auto size_param = NumericParameter(params, "binary_data_size");
    if (!size_param.ok()) return size_param.status();
    if (*size_param) {
      const auto size = IntegralCast<size_t>(**size_param);
      if (!size)
        return InvalidArgument("input '" + in.name + "' binary_data_size must be a non-negative integer");
      if (!header_length)
        return InvalidArgument("input '" + in.name +
                               "' uses binary data but the request has no "
                               "Inference-Header-Content-Length header");
      const size_t n = *size;
      if (n > binary.size() - binary_pos)
        return InvalidArgument("unexpected end of binary data for input '" + in.name + "': needs " +
                               std::to_string(n) + " bytes, " + std::to_string(binary.size() - binary_pos) +
                               " left");
      in.data = binary.substr(binary_pos, n);
      binary_pos += n;
      if (ji.contains("data"))
        return InvalidArgument("input '" + in.name + "' has both binary and JSON data");
    } else {
      if (!ji.contains("data")) return InvalidArgument("input '" + in.name + "' has no 'data'");
      std::string& bytes = parsed.storage.emplace_back();
      int64_t count = 0;
      ACCEL_RETURN_IF_ERROR(FlattenData(in.datatype, ji["data"], bytes, count, 0));
      if (count != elements)
        return InvalidArgument("input '" + in.name + "' has " + std::to_string(count) +
                               " data elements; shape " + ShapeToString(in.shape) + " needs " +
                               std::to_string(elements));
      in.data = bytes;
    }
    if (in.datatype != "BYTES") {
      const size_t want = InputByteSize(in.datatype, in.shape);
      if (in.data.size() != want)
        return InvalidArgument("input '" + in.name + "' has " + std::to_string(in.data.size()) +
                               " bytes of data; shape " + ShapeToString(in.shape) + " of " + in.datatype +
                               " needs " + std::to_string(want));
    }
    req.inputs.push_back(std::move(in));
  }
  if (binary_pos != binary.size())
    return InvalidArgument("the request has " + std::to_string(binary.size() - binary_pos) +
                           " bytes of binary data that no input claims");
  if (j.contains("outputs")) {
    if (!j["outputs"].is_array()) return InvalidArgument("'outputs' must be an array");
    for (const auto& jo : j["outputs"]) {
      if (!jo.is_object() || !jo.contains("name") || !jo["name"].is_string())
        return InvalidArgument("each requested output must be an object with a 'name'");
      const std::string name = jo["name"].get<std::string>();
      req.requested_outputs.push_back(name);
      ACCEL_ASSIGN_OR_RETURN(KServeParameters params, ParseParameters(jo, "output"));
      if (auto it = params.find("binary_data"); it != params.end()) {
        const bool* b = std::get_if<bool>(&it->second);
        if (!b) return InvalidArgument("output parameter 'binary_data' must be a boolean");
        (*b ? parsed.binary_outputs : parsed.json_outputs).push_back(name);
      }
    }
  }
  return Status::Ok();
}

std::string RenderKServeHttpResponse(const KServeResponse& response, const KServeHttpParsed& parsed,
                                     std::optional<size_t>* header_length) {
  auto listed = [](const std::vector<std::string>& v, const std::string& n) {
    return std::find(v.begin(), v.end(), n) != v.end();
  };
  json j;
  j["model_name"] = response.model;
  j["model_version"] = response.version;
  if (!response.id.empty()) j["id"] = response.id;
  j["parameters"] = {{"device", response.device_id},
                     {"engine", response.engine_kind},
                     {"simulated", response.simulated},
                     {"cache", response.cache}};
  json outputs = json::array();
  std::string binary;
  for (const auto& out : response.outputs) {
    json o = {{"name", out.name}, {"datatype", out.datatype}, {"shape", out.shape}};
    const bool as_binary = listed(parsed.binary_outputs, out.name) ||
                           (parsed.all_binary && !listed(parsed.json_outputs, out.name)) ||
                           !JsonRenderable(out.datatype);
    if (as_binary) {
      o["parameters"] = {{"binary_data_size", out.data.size()}};
      binary += out.data;
    } else {
      o["data"] = DataToJson(out);
    }
    outputs.push_back(std::move(o));
  }
  j["outputs"] = std::move(outputs);
  std::string text = j.dump();
  bool any_binary = false;
  for (const auto& o : j["outputs"]) any_binary = any_binary || o.contains("parameters");
  if (any_binary) {
    *header_length = text.size();
    text += binary;
  } else {
    header_length->reset();
  }
  return text;
}

void RegisterKServeRoutes(HttpRouter& router, ServiceContext& ctx, KServeBackend& backend) {
  router.Add("GET", "/v2", kInferenceRoute, [&backend](HttpRequest&&, HttpResponder respond) {
    const auto meta = backend.ServerMetadata();
    respond(JsonOk({{"name", meta.name}, {"version", meta.version}, {"extensions", meta.extensions}}));
  });
  router.Add("GET", "/v2/health/live", kObservabilityRoute,
             [&backend](HttpRequest&&, HttpResponder respond) { respond(EmptyStatus(backend.Live())); });
  router.Add("GET", "/v2/health/ready", kObservabilityRoute,
             [&backend](HttpRequest&&, HttpResponder respond) { respond(EmptyStatus(backend.Ready())); });
  router.AddPrefix("GET", "/v2/models/", kInferenceRoute,
                   [&backend](HttpRequest&& request, HttpResponder respond) {
                     std::string model, version, action;
                     Status s = ParseKServeModelPath(request.path, "/v2/models/", model, version, action);
                     if (!s.ok()) return respond(KServeError(s));
                     if (action.empty()) {
                       auto meta = backend.ModelMetadata(model, version);
                       if (!meta.ok()) return respond(KServeError(meta.status()));
                       return respond(JsonOk(MetadataJson(*meta)));
                     }
                     if (action == "ready") {
                       auto ready = backend.ModelReady(model, version);
                       return respond(EmptyStatus(ready.ok() && *ready));
                     }
                     respond(KServeError(NotFound("no such endpoint: GET " + request.path)));
                   });
  router.AddPrefix("POST", "/v2/models/", kInferenceRoute,
                   [&ctx, &backend](HttpRequest&& request, HttpResponder respond) {
                     std::string model, version, action;
                     Status s = ParseKServeModelPath(request.path, "/v2/models/", model, version, action);
                     if (!s.ok()) return respond(KServeError(s));
                     if (action != "infer")
                       return respond(KServeError(NotFound("no such endpoint: POST " + request.path)));
                     HandleInfer(ctx, backend, std::move(request), model, version, std::move(respond));
                   });
  router.Add("POST", "/v2/repository/index", kInferenceRoute,
             [&backend](HttpRequest&& request, HttpResponder respond) {
               bool ready_only = false;
               if (!request.body.empty()) {
                 auto j = ParseClientJson(request.body, "body");
                 if (!j.ok()) return respond(KServeError(j.status()));
                 if (!j->is_object())
                   return respond(KServeError(InvalidArgument("body must be a JSON object")));
                 auto ready = OptionalBool(*j, "ready");
                 if (!ready.ok()) return respond(KServeError(ready.status()));
                 ready_only = ready->value_or(false);
               }
               json arr = json::array();
               for (const auto& e : backend.RepositoryIndex(ready_only)) {
                 json o = {{"name", e.name}, {"version", e.version}, {"state", e.state}};
                 if (!e.reason.empty()) o["reason"] = e.reason;
                 arr.push_back(std::move(o));
               }
               respond(JsonOk(arr));
             });
  router.AddPrefix(
      "POST", "/v2/repository/models/", kStateChangingAdminRoute,
      [&backend](HttpRequest&& request, HttpResponder respond) {
        std::string model, version, action;
        Status s = ParseKServeModelPath(request.path, "/v2/repository/models/", model, version, action);
        if (!s.ok()) return respond(KServeError(s));
        if (!request.body.empty()) {
          auto j = ParseClientJson(request.body, "body");
          if (!j.ok()) return respond(KServeError(j.status()));
          if (!j->is_object()) return respond(KServeError(InvalidArgument("body must be a JSON object")));
        }
        if (action == "load")
          return RunControl([&backend, model] { return backend.LoadModel(model); }, std::move(respond));
        if (action == "unload")
          return RunControl([&backend, model] { return backend.UnloadModel(model); }, std::move(respond));
        respond(KServeError(NotFound("no such endpoint: POST " + request.path)));
      });
}

}  // namespace accel
