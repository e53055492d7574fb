#include "api/ai_api.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <iterator>
#include <set>

#include "api/json_views.h"
#include "api/multipart.h"
#include "cache/result_cache.h"
#include "metrics/accel_metrics.h"

namespace accel {
namespace {

using nlohmann::json;

HttpResponse JsonResponse(const json& body, int status = 200) {
  HttpResponse r;
  r.status = status;
  r.body = body.dump();
  return r;
}

double UptimeSeconds(const ServiceContext& ctx) {
  return MillisBetween(ctx.started, Clock::Real()->Now()) / 1000.0;
}

// The result cache's part of /ai/health. Its "degraded" (Redis configured but not usable) leaves the overall
// status alone: requests are still answered, from memory and by inference.
json CacheHealthJson(const ServiceContext& ctx) {
  const ResultCache* cache = ctx.pipeline->cache();
  if (!cache) return {{"status", "off"}};
  const ResultCache::Health h = cache->health();
  json j = {{"status", h.status},
            {"ttl_s", h.ttl_s},
            {"memory",
             {{"bytes", h.memory.bytes}, {"entries", h.memory.entries}, {"limit_bytes", h.memory_limit}}}};
  j["requests"] = {
      {"hits", {{"memory", h.hits_memory}, {"redis", h.hits_redis}, {"inflight", h.hits_inflight}}},
      {"misses", h.misses},
      {"bypass", h.bypass}};
  if (!h.reason.empty()) j["reason"] = h.reason;
  if (h.redis_configured && h.redis.address.empty()) {
    j["redis"] = {{"state", "disabled"}};
  } else if (h.redis_configured) {
    j["redis"] = {{"address", h.redis.address},
                  {"state", h.redis.usable ? "ok" : "degraded"},
                  {"breaker", h.redis.breaker}};
  }
  return j;
}

json HealthJson(const ServiceContext& ctx) {
  const auto devices = ctx.scheduler->Devices();
  const auto models = ctx.scheduler->Models();
  json j;
  j["status"] = OverallHealth(devices, models);
  // Readiness for balancers: false while draining (a graceful stop), whatever the devices' health.
  j["draining"] = ctx.Draining();
  j["ready"] = !ctx.Draining() && !models.empty() &&
               std::all_of(models.begin(), models.end(), [](const ModelStatus& m) { return m.ready; });
  j["success"] = true;
  j["version"] = ctx.version;
  j["uptime_s"] = Round(UptimeSeconds(ctx), 1);
  json ms = json::array();
  for (const auto& m : models) ms.push_back({{"name", m.name}, {"ready", m.ready}, {"devices", m.devices}});
  j["models"] = std::move(ms);
  json ds = json::array();
  size_t ready = 0;
  for (const auto& d : devices) {
    const std::string state = DeviceState(d);
    if (state == "ready") ++ready;
    ds.push_back({{"id", d.info.id},
                  {"kind", d.info.kind},
                  {"state", state},
                  {"reason", d.ejected ? d.ejected_reason : d.health.reason},
                  {"simulated", d.info.simulated}});
  }
  j["devices"] = std::move(ds);
  j["devices_ready"] = ready;
  j["devices_total"] = devices.size();
  j["cache"] = CacheHealthJson(ctx);
  return j;
}

json EnginesJson(const ServiceContext& ctx) {
  const auto devices = ctx.scheduler->Devices();
  json engines = json::array();
  for (const auto& report : ctx.engine_reports) {
    json e;
    e["kind"] = report.kind;
    e["built"] = report.built;
    e["enabled"] = report.enabled;
    json devs = json::array();
    for (const auto& d : devices)
      if (d.info.kind == report.kind || (report.kind == "sim" && d.info.simulated && d.info.kind == "sim"))
        devs.push_back(DeviceJson(d));
    e["available"] = !devs.empty();
    e["reason"] = report.reason;
    if (!report.create_errors.empty()) e["errors"] = report.create_errors;
    e["devices"] = std::move(devs);
    engines.push_back(std::move(e));
  }
  // Simulated devices pose as other kinds; list each under the kind it serves as, flagged simulated.
  for (auto& e : engines) {
    const std::string kind = e["kind"];
    for (const auto& d : devices)
      if (d.info.simulated && d.info.kind == kind && kind != "sim") {
        bool listed = false;
        for (const auto& x : e["devices"]) listed = listed || x["id"] == d.info.id;
        if (!listed) e["devices"].push_back(DeviceJson(d));
        e["available"] = true;
      }
  }
  return {{"success", true}, {"default_engine", ctx.default_engine}, {"engines", std::move(engines)}};
}

json HardwareJson(const ServiceContext& ctx) {
  json j;
  j["success"] = true;
  const auto devices = ctx.scheduler->Devices();
  for (const auto& report : ctx.engine_reports) {
    json k;
    json list = json::array();
    for (const auto& info : report.devices) {
      json d = DeviceInfoJson(info);
      for (const auto& live : devices)
        if (live.info.id == info.id) {
          d["state"] = DeviceState(live);
          d["reason"] = live.ejected ? live.ejected_reason : live.health.reason;
          d["stats"] = DeviceJson(live)["stats"];
        }
      d["is_available"] = d.contains("state") && d["state"] != "failed" && d["state"] != "ejected";
      list.push_back(std::move(d));
    }
    k["is_available"] = !list.empty() && report.enabled;
    k["built"] = report.built;
    k["enabled"] = report.enabled;
    k["reason"] = report.reason;
    k["devices"] = std::move(list);
    j[report.kind] = std::move(k);
  }
  // Convenience view of the CPU for simple clients.
  if (j.contains("cpu") && !j["cpu"]["devices"].empty()) {
    const auto& props = j["cpu"]["devices"][0]["properties"];
    j["cpu"]["model"] = j["cpu"]["devices"][0]["name"];
    if (props.contains("cores")) j["cpu"]["cores"] = std::stoi(props["cores"].get<std::string>());
  }
  return j;
}

json ModelsJson(const ServiceContext& ctx) {
  json arr = json::array();
  for (const auto& m : ctx.scheduler->Models()) {
    json e = {{"name", m.name}, {"ready", m.ready}, {"devices", m.devices}};
    if (auto cfg = ctx.scheduler->FindModel(m.name)) {
      e["task"] = cfg->task;
      e["description"] = cfg->description;
      e["input"] = {{"width", cfg->input.width}, {"height", cfg->input.height}};
      e["decoder"] = cfg->decoder.family;
      e["labels"] = cfg->labels.size();
      e["max_batch"] = cfg->max_batch;
      json arts = json::array();
      for (const auto& a : cfg->artifacts) arts.push_back({{"engine", a.engine_kind}, {"format", a.format}});
      e["artifacts"] = std::move(arts);
    }
    arr.push_back(std::move(e));
  }
  return {{"success", true}, {"default_model", ctx.pipeline->default_model()}, {"models", std::move(arr)}};
}

// A classification model's response carries `classifications` where a detector's carries `detections`;
// `count` counts whichever it has.
json DetectionResponseJson(const DetectionResult& r) {
  const bool classification = r.task == "classification";
  json j = {{"success", true},
            {"model_name", r.model},
            {"engine_used", r.engine_kind},
            {"device", r.device_id},
            {"simulated", r.simulated}};
  // A hit ran no inference for this request: `device` and `engine_used` say where the result was computed.
  j["cached"] = r.cache == CacheStatus::kHit;
  if (classification) {
    j["task"] = r.task;
    j["classifications"] = ClassificationsJson(r.classifications);
  } else {
    j["detections"] = DetectionsJson(r.detections);
  }
  j["count"] = classification ? r.classifications.size() : r.detections.size();
  j["image"] = {{"width", r.image_width}, {"height", r.image_height}};
  j["batch_size"] = r.batch_size;
  j["attempts"] = r.attempts;
  j["timings"] = TimingsJson(r);
  return j;
}

// Fraction of detections that find a partner (same label, IoU >= 0.5) in the other set, over the larger
// set; 1 when both are empty.
double Agreement(const std::vector<Detection>& a, const std::vector<Detection>& b) {
  if (a.empty() && b.empty()) return 1.0;
  size_t matched = 0;
  std::vector<bool> used(b.size(), false);
  for (const auto& da : a) {
    for (size_t i = 0; i < b.size(); ++i) {
      if (!used[i] && b[i].label == da.label && IoU(da.box, b[i].box) >= 0.5f) {
        used[i] = true;
        ++matched;
        break;
      }
    }
  }
  return static_cast<double>(matched) / static_cast<double>(std::max(a.size(), b.size()));
}

void HandleValidate(ServiceContext& ctx, HttpRequest&& request, HttpResponder respond) {
  std::string image;
  std::string source;
  if (!request.body.empty()) {
    auto parts = ParseMultipart(request.body, request.Header("Content-Type"));
    if (!parts.ok()) return respond(JsonErrorResponse(parts.status()));
    if (const auto* p = FindPart(*parts, "image")) {
      image.assign(p->data.begin(), p->data.end());
      source = "uploaded";
    }
  }
  if (image.empty() && !ctx.validation_image.empty()) {
    std::ifstream in(ctx.validation_image, std::ios::binary);
    image.assign(std::istreambuf_iterator<char>(in), {});
    source = ctx.validation_image;
  }
  if (image.empty())
    return respond(JsonErrorResponse(400,
                                     "no validation image: upload one as multipart field 'image' or start "
                                     "the server with --validation-image PATH"));
  // Validation runs one request per engine kind, one after the other, on a thread of its own (it waits on
  // the CPU pool, so it must not occupy a pool thread). One at a time: it is an admin action, and a client
  // must not be able to pile up threads with it.
  static std::atomic<bool> running{false};
  if (running.exchange(true))
    return respond(JsonErrorResponse(409, "a validation is already running; try again when it has finished"));
  std::thread([&ctx, image = std::move(image), source, respond = std::move(respond)]() mutable {
    std::set<std::string> kinds;
    for (const auto& d : ctx.scheduler->Devices())
      if (!d.ejected && d.health.state != HealthState::kFailed) kinds.insert(d.info.kind);
    std::vector<std::pair<std::string, StatusOr<DetectionResult>>> runs;
    std::vector<Detection> reference;
    bool have_reference = false;
    // CPU first: it is the reference the others are compared with.
    std::vector<std::string> order;
    if (kinds.count("cpu")) order.push_back("cpu");
    for (const auto& k : kinds)
      if (k != "cpu") order.push_back(k);
    json results = json::array();
    bool all_pass = true;
    for (const auto& kind : order) {
      DetectionRequest req;
      req.engine = kind;
      req.encoded = image;
      req.filter.threshold = 0.5f;
      req.use_cache = false;  // each engine must run: a cached result would compare an engine with itself
      auto r = ctx.pipeline->DetectSync(std::move(req));
      json e = {{"engine", kind}};
      if (!r.ok()) {
        e["pass"] = false;
        e["error"] = r.status().message();
        all_pass = false;
      } else {
        e["device"] = r->device_id;
        e["simulated"] = r->simulated;
        e["latency_ms"] = Round(r->total_ms, 3);
        e["inference_ms"] = Round(r->inference_ms, 3);
        e["detections"] = r->detections.size();
        if (kind == "cpu") {
          reference = r->detections;
          have_reference = true;
          e["agreement"] = 1.0;
          e["pass"] = true;
        } else if (have_reference) {
          const double agreement = Agreement(reference, r->detections);
          e["agreement"] = Round(agreement, 3);
          if (r->simulated) {
            e["pass"] = true;
            e["note"] =
                "simulated device: runs no model and returns no detections, agreement is not meaningful";
          } else {
            e["pass"] = agreement >= 0.8;
            all_pass = all_pass && agreement >= 0.8;
          }
        } else {
          e["agreement"] = nullptr;
          e["pass"] = true;
          e["note"] = "no cpu result to compare with";
        }
      }
      results.push_back(std::move(e));
    }
    HttpResponse response =
        JsonResponse({{"success", true}, {"all_pass", all_pass}, {"image", source}, {"engines", results}});
    running = false;  // before answering, so a client that validates again right away is not refused
    respond(std::move(response));
  }).detach();
}

}  // namespace

InferParseOptions MakeInferParseOptions(const ServiceContext& ctx) {
  InferParseOptions options;
  options.default_engine = ctx.default_engine;
  options.limits = ctx.pipeline->limits();
  // Every kind the registry knows (built or not, so naming one gets 503 "no device" rather than 400), and
  // the kinds of devices added directly.
  std::set<std::string> kinds;
  for (const auto& r : ctx.engine_reports) kinds.insert(r.kind);
  for (const auto& d : ctx.scheduler->Devices()) kinds.insert(d.info.kind);
  options.known_engines.assign(kinds.begin(), kinds.end());
  return options;
}

void RegisterAiRoutes(HttpRouter& router, ServiceContext& ctx) {
  router.Add("GET", "/ai/health", kObservabilityRoute,
             [&ctx](HttpRequest&&, HttpResponder respond) { respond(JsonResponse(HealthJson(ctx))); });
  router.Add("GET", "/ai/engines", kInferenceRoute,
             [&ctx](HttpRequest&&, HttpResponder respond) { respond(JsonResponse(EnginesJson(ctx))); });
  router.Add("GET", "/ai/hardware", kInferenceRoute,
             [&ctx](HttpRequest&&, HttpResponder respond) { respond(JsonResponse(HardwareJson(ctx))); });
  router.Add("GET", "/ai/models", kInferenceRoute,
             [&ctx](HttpRequest&&, HttpResponder respond) { respond(JsonResponse(ModelsJson(ctx))); });
  router.Add("POST", "/ai/validate", kAdminRoute, [&ctx](HttpRequest&& request, HttpResponder respond) {
    HandleValidate(ctx, std::move(request), std::move(respond));
  });
  router.Add(
      "POST", "/ai/infer", kInferenceBodyKeyRoute, [&ctx](HttpRequest&& request, HttpResponder respond) {
        const SteadyTime started = Clock::Real()->Now();
        auto parsed = ParseInferRequest(request, ctx.infer_options);
        if (!parsed.ok()) {
          RecordApiRequest(ctx, "ai", "", "", HttpStatusFor(parsed.status().code()), started);
          return respond(JsonErrorResponse(parsed.status()));
        }
        if (Status key = CheckBodyKey(ctx.access, request, parsed->api_key); !key.ok()) {
          RecordApiRequest(ctx, "ai", "", "", HttpStatusFor(key.code()), started);
          if (ctx.metrics) ctx.metrics->RecordAccessDenied("http", HttpStatusFor(key.code()));
          return respond(AccessDeniedResponse(key));
        }
        parsed->detection.accept_classification = true;
        ctx.pipeline->Detect(std::move(parsed->detection), [&ctx, respond = std::move(respond),
                                                            started](StatusOr<DetectionResult> result) {
          RecordDetection(ctx, "ai", result, started);
          if (!result.ok()) return respond(JsonErrorResponse(result.status()));
          HttpResponse response = JsonResponse(DetectionResponseJson(*result));
          response.headers.emplace_back(kCacheHeader, std::string(CacheStatusName(result->cache)));
          respond(std::move(response));
        });
      });
}

}  // namespace accel
