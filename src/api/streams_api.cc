#include "api/streams_api.h"

#include <nlohmann/json.hpp>

#include <functional>
#include <memory>

#include "api/client_json.h"
#include "api/http_router.h"
#include "api/sse_hub.h"
#include "streams/stream_manager.h"

namespace accel {
namespace {

using json = nlohmann::json;
constexpr std::string_view kPrefix = "/ai/streams/";

// Invalid UTF-8 (a source's error text, a client's URL) is replaced rather than thrown.
HttpResponse Json(const json& body, int status = 200) {
  HttpResponse r;
  r.status = status;
  r.body = body.dump(-1, ' ', false, json::error_handler_t::replace);
  return r;
}

json StatsJson(const StreamStats& s) {
  return {{"decoded_frames", s.source.decoded},
          {"dropped_frames", s.source.dropped},
          {"busy_skips", s.busy_skips},
          {"decode_errors", s.source.decode_errors},
          {"reconnects", s.source.reconnects},
          {"detected_frames", s.detected},
          {"detection_errors", s.detection_errors},
          {"last_detection_error", s.last_detection_error},
          {"events", s.events},
          {"tracks", s.tracks},
          {"decoded_fps", s.decoded_fps},
          {"detection_fps", s.detection_fps},
          {"latency_p50_ms", s.latency_p50_ms},
          {"latency_p95_ms", s.latency_p95_ms},
          {"width", s.source.width},
          {"height", s.source.height},
          {"codec", s.source.codec},
          {"hardware_decoding", s.source.hardware}};
}

json OutputJson(const EventSinkStats& s) {
  return {{"connected", s.connected},
          {"published", s.published},
          {"dropped", s.dropped},
          {"buffered", s.buffered},
          {"last_error", s.last_error}};
}

json InfoJson(const StreamInfo& info) {
  json out = StreamConfigToJson(info.config, /*redact=*/true);
  out["state"] = SourceStateName(info.stats.source.state);
  out["reason"] = info.stats.source.reason;
  out["stats"] = StatsJson(info.stats);
  out["snapshot"] = "/ai/streams/" + info.config.name + "/snapshot.jpg";
  out["events"] = "/ai/streams/" + info.config.name + "/events";
  return out;
}

// "/ai/streams/{name}[/rest]" -> name, rest ("" or "snapshot.jpg", "events").
bool SplitPath(const std::string& path, std::string* name, std::string* rest) {
  if (path.size() <= kPrefix.size()) return false;
  std::string tail = path.substr(kPrefix.size());
  const size_t slash = tail.find('/');
  *name = tail.substr(0, slash);
  *rest = slash == std::string::npos ? "" : tail.substr(slash + 1);
  return !name->empty();
}

// A change blocks (a replaced stream's threads are joined, the file is written): off the I/O thread, on a
// thread the manager owns and waits for before it stops (a detached one could outlive it).
void RunChange(StreamManager& manager, std::function<Status()> change, std::function<HttpResponse()> answer,
               HttpResponder respond) {
  auto responder = std::make_shared<HttpResponder>(std::move(respond));
  Status started = manager.RunChange([change = std::move(change), answer = std::move(answer), responder] {
    Status s = change();
    (*responder)(s.ok() ? answer() : JsonErrorResponse(s));
  });
  if (!started.ok()) (*responder)(JsonErrorResponse(started));
}

StatusOr<StreamConfig> ParseBody(const HttpRequest& request) {
  ACCEL_ASSIGN_OR_RETURN(json body, ParseClientJson(request.body, "request body", 8));
  return StreamConfigFromJson(body);
}

}  // namespace

void RegisterStreamsRoutes(HttpRouter& router, StreamManager& manager, SseHub& hub) {
  router.Add("GET", "/ai/streams", kInferenceRoute, [&manager](HttpRequest&&, HttpResponder respond) {
    json list = json::array();
    for (const StreamInfo& info : manager.List()) list.push_back(InfoJson(info));
    json outputs = json::object();
    for (const auto& [name, stats] : manager.OutputStats()) outputs[name] = OutputJson(stats);
    respond(Json({{"success", true}, {"streams", std::move(list)}, {"outputs", std::move(outputs)}}));
  });
  router.Add("POST", "/ai/streams", kStateChangingAdminRoute,
             [&manager](HttpRequest&& request, HttpResponder respond) {
               auto config = ParseBody(request);
               if (!config.ok()) return respond(JsonErrorResponse(config.status()));
               const std::string name = config->name;
               RunChange(
                   manager,
                   [&manager, config = std::move(*config)]() mutable { return manager.Add(config, false); },
                   [&manager, name] {
                     auto info = manager.Get(name);
                     return Json({{"success", true}, {"stream", info ? InfoJson(*info) : json()}}, 201);
                   },
                   std::move(respond));
             });
  router.AddPrefix("GET", std::string(kPrefix), kInferenceRoute,
                   [&manager, &hub](HttpRequest&& request, HttpResponder respond) {
                     std::string name, rest;
                     if (!SplitPath(request.path, &name, &rest))
                       return respond(JsonErrorResponse(404, "no such endpoint: GET " + request.path));
                     if (rest.empty()) {
                       auto info = manager.Get(name);
                       if (!info) return respond(JsonErrorResponse(404, "no stream named '" + name + "'"));
                       return respond(Json({{"success", true}, {"stream", InfoJson(*info)}}));
                     }
                     if (rest == "snapshot.jpg") {
                       auto jpeg = manager.Snapshot(name);
                       if (!jpeg.ok()) return respond(JsonErrorResponse(jpeg.status()));
                       if (!*jpeg)
                         return respond(JsonErrorResponse(
                             503, "no snapshot yet: the stream has not had a frame detected"));
                       HttpResponse r;
                       r.content_type = "image/jpeg";
                       r.headers = {{"Cache-Control", "no-store"}};
                       r.body = **jpeg;
                       return respond(std::move(r));
                     }
                     if (rest == "events") {
                       if (!manager.Get(name))
                         return respond(JsonErrorResponse(404, "no stream named '" + name + "'"));
                       return respond(hub.Subscribe(name));
                     }
                     respond(JsonErrorResponse(404, "no such endpoint: GET " + request.path));
                   });
  router.AddPrefix(
      "PUT", std::string(kPrefix), kStateChangingAdminRoute,
      [&manager](HttpRequest&& request, HttpResponder respond) {
        std::string name, rest;
        if (!SplitPath(request.path, &name, &rest) || !rest.empty())
          return respond(JsonErrorResponse(404, "no such endpoint: PUT " + request.path));
        auto config = ParseBody(request);
        if (!config.ok()) return respond(JsonErrorResponse(config.status()));
        if (config->name.empty()) config->name = name;
        if (config->name != name)
          return respond(JsonErrorResponse(
              400, "'name' in the body (" + config->name.substr(0, 64) + ") differs from the path"));
        RunChange(
            manager, [&manager, config = std::move(*config)]() mutable { return manager.Add(config, true); },
            [&manager, name] {
              auto info = manager.Get(name);
              return Json({{"success", true}, {"stream", info ? InfoJson(*info) : json()}});
            },
            std::move(respond));
      });
  router.AddPrefix("DELETE", std::string(kPrefix), kStateChangingAdminRoute,
                   [&manager](HttpRequest&& request, HttpResponder respond) {
                     std::string name, rest;
                     if (!SplitPath(request.path, &name, &rest) || !rest.empty())
                       return respond(JsonErrorResponse(404, "no such endpoint: DELETE " + request.path));
                     RunChange(
                         manager, [&manager, name] { return manager.Remove(name); },
                         [] {
                           return Json({{"success", true}});
                         },
                         std::move(respond));
                   });
}

}  // namespace accel
