#include "api/deepstack_api.h"

#include <unistd.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdio>
#include <ctime>
#include <random>
#include <string>

#include "api/ai_api.h"
#include "api/client_json.h"
#include "api/infer_request_parser.h"
#include "api/json_views.h"
#include "api/multipart.h"
#include "api/request_metrics.h"
#include "metrics/accel_metrics.h"

namespace accel {
namespace {

using nlohmann::json;

constexpr std::string_view kCustomPrefix = "/v1/vision/custom/";
constexpr const char* kModuleId = "accel";
constexpr const char* kModuleName = "Accel";

// CodeProject.AI tags every answer with a request id (a GUID); clients use it only to tell answers apart, so
// random bits suffice.
std::string NewRequestId() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  const uint64_t a = rng();
  const uint64_t b = rng();
  char text[40];
  std::snprintf(text, sizeof(text), "%08x-%04x-4%03x-%04x-%012llx", static_cast<unsigned>(a >> 32),
                static_cast<unsigned>((a >> 16) & 0xffff), static_cast<unsigned>(a & 0xfff),
                static_cast<unsigned>(0x8000 | ((b >> 48) & 0x3fff)),
                static_cast<unsigned long long>(b & 0xffffffffffffULL));
  return text;
}

// RFC 1123, as CodeProject.AI writes timestampUTC ("Tue, 02 Dec 2025 10:00:00 GMT").
std::string TimestampUtc() {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char text[64];
  const size_t n = std::strftime(text, sizeof(text), "%a, %d %b %Y %H:%M:%S GMT", &utc);
  return std::string(text, n);
}

std::string HostName() {
  char name[256] = {};
  if (gethostname(name, sizeof(name) - 1) != 0) return "";
  return name;
}

// The fields every CodeProject.AI module answer carries.
json Envelope(const char* command, const std::string& request_id, int code) {
  return {{"success", code == 200},    {"code", code},
          {"command", command},        {"moduleId", kModuleId},
          {"moduleName", kModuleName}, {"requestId", request_id}};
}

// The project-wide error shape ({"success": false, "error": ...}, HTTP status) plus the envelope.
HttpResponse DeepStackError(const Status& status, const char* command, const std::string& request_id) {
  HttpResponse r = JsonErrorResponse(status);
  json body = Envelope(command, request_id, r.status);
  body["error"] = status.message();
  r.body = body.dump();
  return r;
}

HttpResponse JsonOk(const json& body) {
  HttpResponse r;
  r.body = body.dump();
  return r;
}

json PredictionsJson(const DetectionResult& result) {
  json preds = json::array();
  // Detections arrive sorted by confidence, descending (DetectionFilter), and cut to the request's limit;
  // clients rely on that order (Frigate stops reading at the first one under 0.4).
  for (const auto& d : result.detections) {
    preds.push_back({{"label", d.label},
                     {"confidence", Round(d.confidence, 4)},
                     {"x_min", static_cast<int>(std::lround(d.box.x_min))},
                     {"y_min", static_cast<int>(std::lround(d.box.y_min))},
                     {"x_max", static_cast<int>(std::lround(d.box.x_max))},
                     {"y_max", static_cast<int>(std::lround(d.box.y_max))}});
  }
  return preds;
}

// CodeProject.AI's one-line summary: the first three labels, "..." when there are more.
std::string Summary(const std::vector<Detection>& detections) {
  if (detections.empty()) return "No objects found";
  std::string text = "Found ";
  for (size_t i = 0; i < detections.size() && i < 3; ++i) text += (i ? ", " : "") + detections[i].label;
  if (detections.size() > 3) text += "...";
  return text;
}

// The version as CodeProject.AI's VersionInfo ("1.2.3" -> major 1, minor 2, patch 3; missing parts 0).
json VersionJson(const std::string& version) {
  int parts[3] = {0, 0, 0};
  size_t at = 0;
  for (int& part : parts) {
    size_t end = at;
    while (end < version.size() && version[end] >= '0' && version[end] <= '9') ++end;
    if (end == at) break;
    part = std::stoi(version.substr(at, std::min<size_t>(end - at, 6)));
    if (end >= version.size() || version[end] != '.') break;
    at = end + 1;
  }
  return {{"major", parts[0]},       {"minor", parts[1]}, {"patch", parts[2]}, {"preRelease", nullptr},
          {"securityUpdate", false}, {"build", 0},        {"file", nullptr},   {"releaseNotes", nullptr}};
}

json ServerEnvelope(const ServiceContext& ctx) {
  return {{"success", true},
          {"code", 200},
          {"hostname", HostName()},
          {"message", ctx.version},
          {"version", VersionJson(ctx.version)},
          {"server", "accel"}};
}

// The `api_key` a request without a key header carries in its query string or form body (urlencoded,
// multipart or JSON), for routes that need no other field; "" when none.
StatusOr<std::string> FormApiKey(const HttpRequest& request) {
  if (auto key = request.QueryParam("api_key")) return *key;
  if (request.body.empty()) return std::string();
  std::string_view type = request.Header("Content-Type");
  type = type.substr(0, type.find(';'));
  if (EqualsIgnoreCase(type, "multipart/form-data")) {
    ACCEL_ASSIGN_OR_RETURN(auto parts, ParseMultipart(request.body, request.Header("Content-Type")));
    const MultipartPart* part = FindPart(parts, "api_key");
    return part ? std::string(part->data) : std::string();
  }
  if (EqualsIgnoreCase(type, "application/x-www-form-urlencoded")) {
    ACCEL_ASSIGN_OR_RETURN(auto fields, ParseUrlEncodedForm(request.body));
    for (auto& [name, value] : fields)
      if (name == "api_key") return value;
    return std::string();
  }
  if (EqualsIgnoreCase(type, "application/json")) {
    ACCEL_ASSIGN_OR_RETURN(json body, ParseClientJson(request.body, "request body"));
    if (body.is_object())
      if (auto it = body.find("api_key"); it != body.end() && it->is_string()) return it->get<std::string>();
  }
  return std::string();
}

// One detection request of command `command` ("detect", "custom"); `model` overrides the request's
// model_name when not empty. `options` carry the DeepStack defaults (the prediction cap).
void Detect(ServiceContext& ctx, const InferParseOptions& options, const char* command, std::string model,
            HttpRequest&& request, HttpResponder respond) {
  const SteadyTime started = Clock::Real()->Now();
  std::string request_id = NewRequestId();
  auto parsed = ParseInferRequest(request, options);
  if (!parsed.ok()) {
    RecordApiRequest(ctx, "deepstack", "", "", HttpStatusFor(parsed.status().code()), started);
    return respond(DeepStackError(parsed.status(), command, request_id));
  }
  if (Status key = CheckBodyKey(ctx.access, request, parsed->api_key); !key.ok()) {
    RecordApiRequest(ctx, "deepstack", "", "", HttpStatusFor(key.code()), started);
    if (ctx.metrics) ctx.metrics->RecordAccessDenied("http", HttpStatusFor(key.code()));
    return respond(AccessDeniedResponse(key));
  }
  if (!model.empty()) parsed->detection.model = std::move(model);
  ctx.pipeline->Detect(std::move(parsed->detection), [&ctx, command, request_id = std::move(request_id),
                                                      respond = std::move(respond),
                                                      started](StatusOr<DetectionResult> result) {
    RecordDetection(ctx, "deepstack", result, started);
    if (!result.ok()) return respond(DeepStackError(result.status(), command, request_id));
    const int process_ms = static_cast<int>(std::lround(MillisBetween(started, Clock::Real()->Now())));
    json body = Envelope(command, request_id, 200);
    body["message"] = Summary(result->detections);
    body["predictions"] = PredictionsJson(*result);
    body["count"] = result->detections.size();
    body["model_name"] = result->model;
    body["inferenceMs"] = static_cast<int>(std::lround(result->inference_ms));
    body["processMs"] = process_ms;
    body["analysisRoundTripMs"] = process_ms;
    body["processedBy"] = result->device_id;
    body["inferenceDevice"] = result->engine_kind;
    body["timestampUTC"] = TimestampUtc();
    body["simulated"] = result->simulated;
    HttpResponse response = JsonOk(body);
    response.headers.emplace_back(kCacheHeader, std::string(CacheStatusName(result->cache)));
    respond(std::move(response));
  });
}

}  // namespace

void RegisterDeepStackRoutes(HttpRouter& router, ServiceContext& ctx) {
  InferParseOptions options = ctx.infer_options;
  options.default_max_results = ctx.deepstack_max_predictions > 0 ? ctx.deepstack_max_predictions : -1;

  router.Add("POST", "/v1/vision/detection", kInferenceBodyKeyRoute,
             [&ctx, options](HttpRequest&& request, HttpResponder respond) {
               Detect(ctx, options, "detect", "", std::move(request), std::move(respond));
             });
  // Before the custom/{model} prefix, which would otherwise take "list" for a model name.
  router.Add("POST", "/v1/vision/custom/list", kInferenceBodyKeyRoute,
             [&ctx](HttpRequest&& request, HttpResponder respond) {
               const std::string request_id = NewRequestId();
               if (!request.authorized) {
                 auto key = FormApiKey(request);
                 if (!key.ok()) return respond(DeepStackError(key.status(), "list-custom", request_id));
                 if (Status allowed = CheckBodyKey(ctx.access, request, *key); !allowed.ok()) {
                   if (ctx.metrics) ctx.metrics->RecordAccessDenied("http", HttpStatusFor(allowed.code()));
                   return respond(AccessDeniedResponse(allowed));
                 }
               }
               json models = json::array();
               for (const auto& m : ctx.scheduler->Models())
                 if (m.ready) models.push_back(m.name);
               json body = Envelope("list-custom", request_id, 200);
               body["models"] = std::move(models);
               body["timestampUTC"] = TimestampUtc();
               respond(JsonOk(body));
             });
  router.AddPrefix(
      "POST", std::string(kCustomPrefix), kInferenceBodyKeyRoute,
      [&ctx, options](HttpRequest&& request, HttpResponder respond) {
        std::string_view rest = std::string_view(request.path).substr(kCustomPrefix.size());
        if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
        auto model = UrlDecodeStrict(rest, false);
        if (!model.ok() || model->empty() || model->find('/') != std::string::npos)
          return respond(DeepStackError(
              NotFound("no such model: '" + std::string(rest) + "' (POST /v1/vision/custom/list)"), "custom",
              NewRequestId()));
        Detect(ctx, options, "custom", std::move(model).value(), std::move(request), std::move(respond));
      });

  for (const char* base : {"/v1/server/status", "/v1/status"}) {
    router.Add("GET", std::string(base) + "/ping", kObservabilityRoute,
               [&ctx](HttpRequest&&, HttpResponder respond) { respond(JsonOk(ServerEnvelope(ctx))); });
    router.Add("GET", std::string(base) + "/updateavailable", kObservabilityRoute,
               [&ctx](HttpRequest&&, HttpResponder respond) {
                 json body = ServerEnvelope(ctx);
                 // Accel never calls out to learn of releases: it reports its own version as the latest
                 // it knows, so that clients which poll this do not nag about an update.
                 body["message"] = "Accel does not check for updates; this is version " + ctx.version;
                 body["current"] = body["version"];
                 body["latest"] = body["version"];
                 body["updateAvailable"] = false;
                 respond(JsonOk(body));
               });
  }
}

}  // namespace accel
