#include "api/observability_api.h"

#include <nlohmann/json.hpp>

#include "api/embedded_files.h"
#include "api/json_views.h"
#include "core/logging.h"
#include "metrics/accel_metrics.h"
#include "metrics/exposition.h"

namespace accel {
namespace {

DeviceGaugeSnapshot ToSnapshot(const DeviceStatus& d) {
  DeviceGaugeSnapshot s;
  s.device = d.info.id;
  s.engine = d.info.kind;
  s.simulated = d.info.simulated;
  s.health_state = (d.ejected || d.health.state == HealthState::kFailed) ? 2
                   : d.health.state == HealthState::kDegraded            ? 1
                                                                         : 0;
  s.queue_depth = d.queue_depth;
  s.in_flight = d.in_flight;
  s.temperature_c = d.stats.temperature_c;
  s.power_w = d.stats.power_w;
  s.utilization_percent = d.stats.utilization_percent;
  if (d.stats.memory_used_mb >= 0) s.memory_used_bytes = d.stats.memory_used_mb * 1048576.0;
  if (d.stats.memory_total_mb >= 0) s.memory_total_bytes = d.stats.memory_total_mb * 1048576.0;
  return s;
}

void ServeEmbedded(const HttpRequest& request, HttpResponder respond) {
  const EmbeddedFile* file = FindEmbeddedFile(request.path);
  if (!file) return respond(JsonErrorResponse(404, "no such file: " + request.path));
  HttpResponse r;
  r.content_type = std::string(file->content_type);
  r.headers.emplace_back("ETag", std::string(file->etag));
  r.headers.emplace_back("Cache-Control", "no-cache");
  if (request.Header("If-None-Match") == file->etag) {
    r.status = 304;
  } else {
    r.body.assign(file->text());
  }
  respond(std::move(r));
}

}  // namespace

void RegisterObservabilityRoutes(HttpRouter& router, ServiceContext& ctx) {
  Scheduler* scheduler = ctx.scheduler;
  ctx.metrics->SetDeviceSnapshotProvider([scheduler] {
    std::vector<DeviceGaugeSnapshot> out;
    for (const auto& d : scheduler->Devices()) out.push_back(ToSnapshot(d));
    return out;
  });
  router.Add("GET", "/metrics", kObservabilityRoute, [&ctx](HttpRequest&&, HttpResponder respond) {
    HttpResponse r;
    r.content_type = std::string(kExpositionContentType);
    r.body = ctx.metrics->Render();
    respond(std::move(r));
  });
  router.Add("GET", "/ai/stats", kObservabilityRoute, [&ctx](HttpRequest&&, HttpResponder respond) {
    const auto summary = ctx.metrics->Summarize();
    nlohmann::json errors = nlohmann::json::array();
    for (const auto& rec : RecentProblems())
      errors.push_back({{"time", rec.time},
                        {"level", std::string(LogLevelName(rec.level))},
                        {"component", rec.component},
                        {"message", rec.message}});
    auto latency = [](double v) { return v < 0 ? nlohmann::json(nullptr) : nlohmann::json(Round(v, 3)); };
    nlohmann::json body = {
        {"success", true},
        {"uptime_s", Round(summary.uptime_seconds, 1)},
        {"requests_total", summary.requests_total},
        {"errors_total", summary.errors_total},
        {"throughput_rps", Round(summary.window.throughput_rps, 2)},
        {"latency_ms", {{"p50", latency(summary.window.p50_ms)}, {"p99", latency(summary.window.p99_ms)}}},
        {"recent_errors", std::move(errors)}};
    HttpResponse r;
    r.body = body.dump();
    respond(std::move(r));
  });
  for (const auto& file : EmbeddedFiles()) {
    router.Add(
        "GET", std::string(file.path), kObservabilityRoute,
        [](HttpRequest&& request, HttpResponder respond) { ServeEmbedded(request, std::move(respond)); });
  }
  router.Add("GET", "/", kObservabilityRoute, [](HttpRequest&& request, HttpResponder respond) {
    ServeEmbedded(request, std::move(respond));
  });
}

}  // namespace accel
