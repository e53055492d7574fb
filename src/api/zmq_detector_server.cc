#include "api/zmq_detector_server.h"

#include <nlohmann/json.hpp>
#include <zmq.hpp>

#include <algorithm>
#include <atomic>
#include <deque>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <thread>

#include "api/client_json.h"
#include "api/model_control.h"
#include "api/model_lookup.h"
#include "api/request_metrics.h"
#include "api/zmq_access.h"
#include "api/zmq_detector_request.h"
#include "api/zmq_model_store.h"
#include "core/clock.h"
#include "core/log_throttle.h"
#include "core/logging.h"
#include "core/model_config.h"
#include "core/tensor.h"
#include "metrics/accel_metrics.h"
#include "vision/image.h"

namespace accel {
namespace {

using nlohmann::json;
using Frames = ZmqFrames;

constexpr int kRows = 20;
constexpr int kCols = 6;
constexpr size_t kReplyBytes = kRows * kCols * sizeof(float);
constexpr size_t kMaxPeers = 1024;  // handshake choices remembered (see Impl::peer_models)
Frames ErrorReply(const std::string& message) {
  json header = {{"shape", {kRows, kCols}}, {"dtype", "float32"}, {"error", message}};
  return {header.dump(), std::string(kReplyBytes, '\0')};
}

StatusOr<std::map<std::string, int>> ReadLabelMap(const std::string& path) {
  std::ifstream in(path);
  if (!in) return InvalidArgument("cannot read zmq label map " + path);
  std::map<std::string, int> ids;
  std::string line;
  int line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    std::istringstream ls(line);
    int id = 0;
    if (!(ls >> id)) {
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      return InvalidArgument(path + ":" + std::to_string(line_no) + ": expected '<id> <label>'");
    }
    std::string label;
    std::getline(ls, label);
    const auto b = label.find_first_not_of(" \t");
    const auto e = label.find_last_not_of(" \t\r");
    if (b == std::string::npos) continue;
    ids.emplace(label.substr(b, e - b + 1), id);  // first id wins when a label repeats
  }
  return ids;
}

// The access policy Options ask for; see ZmqDetectorServer::Options for the rules on combining them.
StatusOr<ZmqAccessPolicy> MakeAccessPolicy(const ZmqDetectorServer::Options& o,
                                           std::optional<CurveKeyPair>* server_keys) {
  ACCEL_ASSIGN_OR_RETURN(AddressAllowList allow, AddressAllowList::Parse(o.allow));
  if (!allow.empty() && o.endpoint.rfind("tcp://", 0) != 0)
    return InvalidArgument("--zmq-allow applies to tcp:// endpoints only; who may connect to '" + o.endpoint +
                           "' is decided by its socket file's permissions");
  const bool curve = !o.curve_secret_key_file.empty() || !o.curve_authorized_keys_file.empty();
  if (!curve) return ZmqAccessPolicy(std::move(allow), false, {});
  if (o.curve_secret_key_file.empty() || o.curve_authorized_keys_file.empty())
    return InvalidArgument(
        "zmq CURVE needs both --zmq-curve-secret-key and --zmq-curve-authorized-keys (without authorised "
        "keys "
        "any client key would be accepted)");
  if (!CurveAvailable()) return CurveUnavailableError();
  ACCEL_ASSIGN_OR_RETURN(*server_keys, ReadCurveSecretKeyFile(o.curve_secret_key_file));
  ACCEL_ASSIGN_OR_RETURN(auto keys, ReadCurveAuthorizedKeys(o.curve_authorized_keys_file));
  return ZmqAccessPolicy(std::move(allow), true, std::move(keys));
}

}  // namespace

// Replies on their way from pipeline threads to the socket thread. Shared with in-flight callbacks, so a
// reply that completes after Stop() finds `closed` and is dropped instead of touching a dead server.
struct ZmqOutbox {
  std::mutex mu;
  std::deque<Frames> frames;  // envelope + reply frames, sent by the socket thread
  zmq::socket_t wake_send;    // guarded by mu
  bool closed = false;

  void Post(Frames envelope, Frames reply) {
    for (auto& f : reply) envelope.push_back(std::move(f));
    std::lock_guard<std::mutex> lock(mu);
    if (closed) return;
    frames.push_back(std::move(envelope));
    try {
      wake_send.send(zmq::const_buffer("", 0), zmq::send_flags::dontwait);
    } catch (const zmq::error_t&) {
      // EAGAIN: a wake-up is already pending, which is enough.
    }
  }
};

struct ZmqDetectorServer::Impl {
  ServiceContext& ctx;
  Options options;
  std::shared_ptr<const std::map<std::string, int>> labelmap = std::make_shared<std::map<std::string, int>>();
  zmq::context_t zctx{1};
  zmq::socket_t router;
  zmq::socket_t wake_recv;
  // Present only when policy.restricts(): the ZAP handler (REP on inproc://zeromq.zap.01) and the router's
  // monitor (handshake failures that never reach ZAP, e.g. a plaintext client at a CURVE server). Both are
  // served by the socket thread; the ZAP socket is bound before the router binds and closed after it, so no
  // connection is ever handled without it.
  ZmqAccessPolicy policy;
  zmq::socket_t zap;
  zmq::socket_t monitor;
  LogThrottle connection_refusal_log;
  std::shared_ptr<ZmqOutbox> outbox = std::make_shared<ZmqOutbox>();
  std::thread thread;
  std::atomic<bool> stopping{false};
  std::string bound;
  bool started = false;

  // The model each client chose in its handshake, by ROUTER identity; clients that never shook hands (older
  // Frigate versions) get the server's model. Written by the socket thread and the upload thread, hence the
  // lock. Bounded, oldest first out: Frigate reconnects after every timeout under a new identity and shakes
  // hands again, so old identities are dead weight.
  std::mutex peers_mu;
  std::map<std::string, std::string> peer_models;
  std::deque<std::string> peer_order;

  // Uploads (model_data): null when refused. One at a time, on upload_thread, so that loading a model (which
  // takes seconds) never holds up the socket thread. `uploading` is cleared by the upload thread last.
  std::unique_ptr<ZmqModelStore> store;
  std::thread upload_thread;
  std::atomic<bool> uploading{false};

  // Refused requests (a misconfigured Frigate sends several a second, forever). Socket thread only.
  LogThrottle request_refusal_log;
  std::set<std::string> size_notes;  // model + tensor size pairs already logged as letterboxed

  Impl(ServiceContext& c, Options o) : ctx(c), options(std::move(o)) {}

  std::string ModelName() const {
    return options.model.empty() ? ctx.pipeline->default_model() : options.model;
  }

  std::string PeerModel(const std::string& peer) {
    std::lock_guard<std::mutex> lock(peers_mu);
    auto it = peer_models.find(peer);
    return it == peer_models.end() ? ModelName() : it->second;
  }

  void SetPeerModel(const std::string& peer, const std::string& model) {
    std::lock_guard<std::mutex> lock(peers_mu);
    auto [it, added] = peer_models.insert_or_assign(peer, model);
    if (!added) return;
    peer_order.push_back(peer);
    while (peer_order.size() > kMaxPeers) {
      peer_models.erase(peer_order.front());
      peer_order.pop_front();
    }
  }

  // The model a client means by `name` (see LookupModel), also under the name an upload of that file gets.
  ModelLookup Lookup(const std::string& name) const {
    ModelLookup found = LookupModel(*ctx.scheduler, ctx.models_dir, name);
    if (found.available) return found;
    if (auto stem = ZmqModelStore::ModelNameFor(name); stem.ok() && *stem != name)
      found = LookupModel(*ctx.scheduler, ctx.models_dir, *stem);
    return found;
  }

  void Refused(const std::string& why) {
    std::string held_back;
    if (request_refusal_log.Allow(&held_back))
      ACCEL_LOG(kWarn, "zmq") << "request refused: " << why << held_back;
  }

  // Socket thread. Every client message gets exactly one reply, even when handling it throws: this is the
  // per-message exception boundary of the zmq front end. envelope[0] is the client's ROUTER identity.
  void Handle(Frames envelope, Frames body) {
    const std::string peer = envelope.empty() ? std::string() : envelope[0];
    auto reply = [outbox = outbox, envelope](Frames r) mutable {
      outbox->Post(std::move(envelope), std::move(r));
    };
    try {
      HandleRequest(peer, std::move(body), reply);
    } catch (const std::exception& e) {
      ACCEL_LOG(kError, "zmq") << "request handler threw: " << e.what();
      reply(ErrorReply(std::string("internal error: ") + e.what()));
    }
  }

  template <typename Reply>
  void HandleRequest(const std::string& peer, Frames body, Reply& reply) {
    auto parsed = ParseZmqRequest(body, {ctx.pipeline->limits(), options.bgr});
    if (parsed.ok() && parsed->kind == ZmqRequest::Kind::kModelRequest)
      return reply({Handshake(peer, parsed->model_name).dump()});
    if (parsed.ok() && parsed->kind == ZmqRequest::Kind::kModelData)
      return Upload(peer, parsed->model_name, std::move(body), reply);
    const std::string model = PeerModel(peer);
    std::shared_ptr<const ModelConfig> config = ctx.scheduler->FindModel(model);
    if (!parsed.ok() || !config || config->input.channels != 3) {
      std::string why;
      if (!parsed.ok())
        why = parsed.status().message() + " (model '" + model +
              "' takes one image tensor [1,H,W,3] or [1,3,H,W], uint8 or float32" +
              (config ? "; its input is " + std::to_string(config->input.width) + "x" +
                            std::to_string(config->input.height)
                      : std::string()) +
              ")";
      else if (!config)
        why = "model '" + model + "' is not loaded";
      else
        why = "model '" + model + "' takes " + std::to_string(config->input.channels) +
              "-channel images; zmq tensors carry 3";
      Refused(why);
      return reply(ErrorReply(why));
    }
    const int width = parsed->image.width;
    const int height = parsed->image.height;
    if ((width != config->input.width || height != config->input.height) && size_notes.size() < 64 &&
        size_notes.insert(model + " " + std::to_string(width) + "x" + std::to_string(height)).second)
      ACCEL_LOG(kInfo, "zmq") << width << "x" << height << " tensors are letterboxed to model '" << model
                              << "''s " << config->input.width << "x" << config->input.height
                              << " input; for the best accuracy set Frigate's model width and height to "
                              << config->input.width << " and " << config->input.height;
    DetectionRequest request;
    request.model = model;
    request.filter.threshold = options.threshold;
    request.filter.max_results = labelmap->empty() ? kRows : -1;
    request.image = std::move(parsed->image);
    if (options.deadline_ms > 0)
      request.deadline = Clock::Real()->Now() + std::chrono::milliseconds(options.deadline_ms);
    // The callback may outlive this server (Stop during inference): it captures only shared state and the
    // context, which outlives the scheduler's last callback.
    const SteadyTime started = Clock::Real()->Now();
    ctx.pipeline->Detect(std::move(request), [&ctx = ctx, labelmap = labelmap, reply, width, height,
                                              started](StatusOr<DetectionResult> r) mutable {
      RecordDetection(ctx, "zmq", r, started);
      if (!r.ok()) return reply(ErrorReply(r.status().ToString()));
      std::string rows(kReplyBytes, '\0');
      float* out = reinterpret_cast<float*>(rows.data());
      int row = 0;
      for (const auto& d : r->detections) {
        if (row == kRows) break;
        int id = d.class_id;
        if (!labelmap->empty()) {
          auto it = labelmap->find(d.label);
          if (it == labelmap->end()) continue;
          id = it->second;
        }
        auto norm = [](float v, int size) { return std::clamp(v / static_cast<float>(size), 0.0f, 1.0f); };
        float* p = out + row * kCols;
        p[0] = static_cast<float>(id);
        p[1] = d.confidence;
        p[2] = norm(d.box.y_min, height);
        p[3] = norm(d.box.x_min, width);
        p[4] = norm(d.box.y_max, height);
        p[5] = norm(d.box.x_max, width);
        ++row;
      }
      reply({std::move(rows)});
    });
  }

  void Loop() {
    while (!stopping.load()) {
      zmq::pollitem_t items[] = {{router.handle(), 0, ZMQ_POLLIN, 0},
                                 {wake_recv.handle(), 0, ZMQ_POLLIN, 0},
                                 {zap.handle(), 0, ZMQ_POLLIN, 0},
                                 {monitor.handle(), 0, ZMQ_POLLIN, 0}};
      const size_t count = policy.restricts() ? 4 : 2;
      try {
        zmq::poll(items, count, std::chrono::milliseconds(-1));
      } catch (const zmq::error_t& e) {
        if (e.num() == EINTR) continue;
        ACCEL_LOG(kError, "zmq") << "poll failed: " << e.what();
        return;
      }
      if (stopping.load()) return;
      // Before requests: a connection waiting for its ZAP answer is waiting in its handshake.
      if (count > 2 && (items[2].revents & ZMQ_POLLIN)) AnswerZap();
      if (count > 3 && (items[3].revents & ZMQ_POLLIN)) ReadMonitor();
      if (items[1].revents & ZMQ_POLLIN) {
        zmq::message_t m;
        while (wake_recv.recv(m, zmq::recv_flags::dontwait)) {
        }
        std::deque<Frames> ready;
        {
          std::lock_guard<std::mutex> lock(outbox->mu);
          ready.swap(outbox->frames);
        }
        for (auto& frames : ready) SendFrames(frames);
      }
      if (items[0].revents & ZMQ_POLLIN) {
        // Drain every request that is already queued before polling again.
        for (;;) {
          Frames frames;
          try {
            if (!ReceiveFrames(frames)) break;
          } catch (const zmq::error_t& e) {
            // One peer's broken message (or a socket error) is logged; the loop keeps serving the others.
            ACCEL_LOG(kWarn, "zmq") << "receive failed: " << e.what();
            break;
          }
          ZmqMessage message = SplitZmqEnvelope(std::move(frames));
          Handle(std::move(message.envelope), std::move(message.body));
        }
      }
    }
  }

  // One ZAP request: decide, answer (REP: exactly one reply per request), log and count a refusal.
  void AnswerZap() {
    Frames request;
    try {
      for (;;) {
        zmq::message_t m;
        if (!zap.recv(m, zmq::recv_flags::dontwait)) return;  // spurious wake-up
        if (request.size() < kZmqMaxFrames)
          request.emplace_back(static_cast<const char*>(m.data()), m.size());
        if (!m.more()) break;
      }
      ZapDecision decision;
      const Frames reply = policy.HandleZapRequest(request, &decision);
      for (size_t i = 0; i < reply.size(); ++i)
        zap.send(zmq::buffer(reply[i]),
                 i + 1 < reply.size() ? zmq::send_flags::sndmore : zmq::send_flags::none);
      if (!decision.accepted()) Refused(decision.refusal, decision.why);
    } catch (const zmq::error_t& e) {
      ACCEL_LOG(kError, "zmq") << "ZAP handler: " << e.what();
    }
  }

  // Monitor events: [uint16 event, uint32 value][endpoint]. Subscribed: handshakes that failed outside ZAP
  // (ZAP refusals are counted by AnswerZap). A plaintext client at a CURVE endpoint shows as a protocol
  // failure (mechanism mismatch) or, when its side hangs up first, as a failure without detail; the latter
  // also counts connections dropped during the handshake by anyone else (port probes, TCP health checks).
  void ReadMonitor() {
    for (;;) {
      zmq::message_t event, endpoint;
      try {
        if (!monitor.recv(event, zmq::recv_flags::dontwait)) return;
        if (event.more()) (void)monitor.recv(endpoint, zmq::recv_flags::none);
      } catch (const zmq::error_t& e) {
        ACCEL_LOG(kWarn, "zmq") << "monitor: " << e.what();
        return;
      }
      uint16_t id = 0;
      if (event.size() >= sizeof(id)) std::memcpy(&id, event.data(), sizeof(id));
      if (id == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL)
        Refused(ZmqRefusal::kHandshake,
                policy.curve() ? "handshake failed: the client does not speak CURVE (plaintext client?)"
                               : "handshake failed: the client asked for a security mechanism this "
                                 "server does not use");
      else if (id == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL)
        Refused(ZmqRefusal::kHandshake,
                policy.curve() ? "a connection ended during its handshake (a plaintext client, or a probe)"
                               : "a connection ended during its handshake (a probe?)");
    }
  }

  // The answer to {"model_request": true, "model_name": name}; remembers the client's choice. A client that
  // names no model is asking about the server's own.
  json Handshake(const std::string& peer, const std::string& name) {
    const std::string asked = name.empty() ? ModelName() : name;
    const ModelLookup found = Lookup(asked);
    SetPeerModel(peer, found.available ? found.model : asked);
    json r = {{"model_available", found.available},
              {"model_loaded", found.loaded},
              {"model_name", found.available ? found.model : asked},
              {"server", "accel"}};
    if (!found.available) {
      r["error"] = "no model named '" + asked +
                   "' (a model's name, or the file name of one of its artifacts)" +
                   (store ? "; send it with model_data to have it loaded"
                          : "; model uploads are off (--zmq-accept-models)");
      Refused(r["error"].get<std::string>());
    } else if (!found.loaded) {
      r["error"] = "model '" + found.model +
                   "' is in the repository but not loaded (or no device can serve it); load it through the "
                   "repository API";
      Refused(r["error"].get<std::string>());
    } else {
      ACCEL_LOG(kDebug, "zmq") << "handshake for '" << asked << "': model " << found.model;
    }
    return r;
  }

  // {"model_data": true, "model_name": name} + the file: saved and loaded on the upload thread when uploads
  // are on; the reply comes from there.
  template <typename Reply>
  void Upload(const std::string& peer, const std::string& name, Frames body, Reply& reply) {
    json r = {{"model_saved", false}, {"model_loaded", false}, {"model_name", name}};
    if (!store) {
      r["model_loaded"] = Lookup(name).loaded;
      r["error"] =
          "this server does not accept model uploads (start it with --zmq-accept-models DIR); it "
          "serves the models of its repository";
      Refused("model upload of '" + name + "': uploads are off (--zmq-accept-models)");
      return reply({r.dump()});
    }
    if (body.size() != 2) {
      r["error"] = "expected 2 frames [header, model file], got " + std::to_string(body.size());
      return reply({r.dump()});
    }
    if (uploading.exchange(true)) {
      r["error"] = "another model upload is being loaded; try again when it is done";
      return reply({r.dump()});
    }
    if (upload_thread.joinable()) upload_thread.join();  // the last one, already finished
    try {
      upload_thread = std::thread([this, peer, name, bytes = std::move(body[1]), reply]() mutable {
        json answer;
        try {
          answer = SaveAndLoad(peer, name, bytes);
        } catch (const std::exception& e) {
          answer = {{"model_saved", false}, {"model_loaded", false}, {"error", e.what()}};
        }
        reply({answer.dump()});
        uploading = false;
      });
    } catch (...) {
      uploading = false;  // no thread: the next upload may try again (the caller answers this one)
      throw;
    }
  }

  // Upload thread: the model file checked, saved and loaded (replacing an earlier upload of the same name).
  json SaveAndLoad(const std::string& peer, const std::string& name, const std::string& bytes) {
    json r = {{"model_saved", false}, {"model_loaded", false}, {"model_name", name}};
    auto fail = [&](const std::string& why) {
      r["error"] = why;
      ACCEL_LOG(kWarn, "zmq") << "model upload '" << name << "' (" << bytes.size()
                              << " bytes) refused: " << why;
      return r;
    };
    // A model served from elsewhere (the repository) is never replaced by an upload of the same name.
    auto stem = ZmqModelStore::ModelNameFor(name);
    if (!stem.ok()) return fail(stem.status().message());
    if (auto existing = ctx.scheduler->FindModel(*stem);
        existing && existing->directory != std::filesystem::absolute(store->dir() / *stem))
      return fail("a model named '" + *stem + "' is already served from " + existing->directory.string());
    auto yaml = store->Save(name, bytes);
    if (!yaml.ok()) return fail(yaml.status().message());
    r["model_saved"] = true;
    auto config = LoadModelConfig(*yaml);
    if (!config.ok()) return fail(config.status().message());
    if (!ctx.model_control) return fail("this server cannot load models at run time");
    Status loaded = ctx.model_control->Change([&](Scheduler& scheduler) -> Status {
      if (auto existing = scheduler.FindModel(config->name)) {
        if (existing->directory != config->directory)
          return FailedPrecondition("a model named '" + config->name + "' is already served from " +
                                    existing->directory.string());
        ACCEL_RETURN_IF_ERROR(scheduler.UnloadModel(config->name));
      }
      return scheduler.LoadModel(*config);
    });
    if (!loaded.ok()) return fail(loaded.message());
    SetPeerModel(peer, config->name);
    r["model_loaded"] = true;
    r["model_name"] = config->name;
    ACCEL_LOG(kInfo, "zmq") << "model '" << config->name << "' uploaded by a zmq client (" << bytes.size()
                            << " bytes), saved to " << yaml->parent_path().string() << " and loaded";
    return r;
  }

  // Counted every time; logged at most once per 10 s, with the number not logged since. A refused client
  // keeps trying (Frigate re-creates its socket after each 200 ms timeout; a plaintext client at a CURVE
  // endpoint reconnects about every 100 ms), so logging each attempt would flood the log.
  void Refused(ZmqRefusal refusal, const std::string& why) {
    if (ctx.metrics) ctx.metrics->RecordZmqRefused(ZmqRefusalName(refusal));
    std::string held_back;
    if (connection_refusal_log.Allow(&held_back))
      ACCEL_LOG(kWarn, "zmq") << "refused a connection: " << why << held_back;
  }

  bool ReceiveFrames(Frames& frames) {
    for (;;) {
      zmq::message_t m;
      auto got = router.recv(m, frames.empty() ? zmq::recv_flags::dontwait : zmq::recv_flags::none);
      if (!got) return false;
      // Frames past kZmqMaxFrames are read and dropped (the handler then answers "expected 2 frames").
      if (frames.size() < kZmqMaxFrames) frames.emplace_back(static_cast<const char*>(m.data()), m.size());
      if (!m.more()) return true;
    }
  }

  void SendFrames(const Frames& frames) {
    try {
      for (size_t i = 0; i < frames.size(); ++i) {
        const auto flags = i + 1 < frames.size() ? zmq::send_flags::sndmore | zmq::send_flags::dontwait
                                                 : zmq::send_flags::dontwait;
        router.send(zmq::buffer(frames[i]), flags);
      }
    } catch (const zmq::error_t& e) {
      ACCEL_LOG(kWarn, "zmq") << "reply dropped: " << e.what();
    }
  }
};

ZmqDetectorServer::ZmqDetectorServer(ServiceContext& context, Options options)
    : impl_(std::make_unique<Impl>(context, std::move(options))) {}

ZmqDetectorServer::~ZmqDetectorServer() { Stop(); }

Status ZmqDetectorServer::Start() {
  Impl& s = *impl_;
  if (s.started) return FailedPrecondition("zmq server already started");
  if (!s.options.labelmap_path.empty()) {
    ACCEL_ASSIGN_OR_RETURN(auto ids, ReadLabelMap(s.options.labelmap_path));
    s.labelmap = std::make_shared<const std::map<std::string, int>>(std::move(ids));
  }
  if (!s.options.accept_models_dir.empty()) {
    s.store = std::make_unique<ZmqModelStore>(s.options.accept_models_dir, s.options.max_uploaded_models);
    ACCEL_RETURN_IF_ERROR(s.store->Open());
  }
  std::optional<CurveKeyPair> server_keys;
  ACCEL_ASSIGN_OR_RETURN(s.policy, MakeAccessPolicy(s.options, &server_keys));
  const std::string suffix = std::to_string(reinterpret_cast<uintptr_t>(this));
  try {
    if (s.policy.restricts()) {
      s.zap = zmq::socket_t(s.zctx, zmq::socket_type::rep);
      s.zap.set(zmq::sockopt::linger, 0);
      s.zap.bind("inproc://zeromq.zap.01");  // the address libzmq asks; one per context
    }
    s.router = zmq::socket_t(s.zctx, zmq::socket_type::router);
    s.router.set(zmq::sockopt::linger, 0);
    s.router.set(zmq::sockopt::maxmsgsize, s.options.max_message_bytes);
    if (s.policy.restricts()) {
      // A ZAP domain makes libzmq consult the handler for NULL-mechanism peers too (CURVE always does).
      s.router.set(zmq::sockopt::zap_domain, "accel");
      if (server_keys) {
        s.router.set(zmq::sockopt::curve_server, true);
        s.router.set(zmq::sockopt::curve_secretkey, server_keys->secret_z85);
        s.router.set(zmq::sockopt::curve_publickey, server_keys->public_z85);
      }
      const std::string monitor_endpoint = "inproc://accel-zmq-monitor-" + suffix;
      if (zmq_socket_monitor(s.router.handle(), monitor_endpoint.c_str(),
                             ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL) != 0)
        throw zmq::error_t();
      s.monitor = zmq::socket_t(s.zctx, zmq::socket_type::pair);
      s.monitor.set(zmq::sockopt::linger, 0);
      s.monitor.connect(monitor_endpoint);
      if (s.ctx.metrics) s.ctx.metrics->EnableZmqAccessMetrics();
    }
    s.router.bind(s.options.endpoint);
    s.bound = s.router.get(zmq::sockopt::last_endpoint);
    const std::string wake = "inproc://accel-zmq-wake-" + suffix;
    s.wake_recv = zmq::socket_t(s.zctx, zmq::socket_type::pair);
    s.wake_recv.bind(wake);
    std::lock_guard<std::mutex> lock(s.outbox->mu);
    s.outbox->wake_send = zmq::socket_t(s.zctx, zmq::socket_type::pair);
    s.outbox->wake_send.set(zmq::sockopt::linger, 0);
    s.outbox->wake_send.connect(wake);
  } catch (const zmq::error_t& e) {
    return Unavailable("cannot bind zmq endpoint '" + s.options.endpoint + "': " + e.what());
  }
  s.started = true;
  s.thread = std::thread([&s] { s.Loop(); });
  ACCEL_LOG(kInfo, "zmq") << "Frigate zmq detector listening on " << s.bound << " (default model "
                          << s.ModelName() << "; model uploads "
                          << (s.store ? "accepted into " + s.store->dir().string() : std::string("refused"))
                          << ")";
  if (s.store)
    ACCEL_LOG(kWarn, "zmq") << "zmq model uploads are on: any client that can reach " << s.bound
                            << " can make this server load and run an ONNX file it sends";
  if (!s.policy.allow_list().empty())
    ACCEL_LOG(kInfo, "zmq") << "zmq peers allowed from " << s.policy.allow_list().ToString() << " only";
  if (server_keys)
    ACCEL_LOG(kInfo, "zmq") << "zmq CURVE on: clients need the server public key " << server_keys->public_z85
                            << " and an authorised key of their own";
  return Status::Ok();
}

std::string ZmqDetectorServer::bound_endpoint() const { return impl_->bound; }

void ZmqDetectorServer::Stop() {
  Impl& s = *impl_;
  if (!s.started) return;
  s.started = false;
  s.stopping = true;
  {
    std::lock_guard<std::mutex> lock(s.outbox->mu);
    try {
      s.outbox->wake_send.send(zmq::const_buffer("", 0), zmq::send_flags::dontwait);
    } catch (const zmq::error_t&) {
    }
  }
  if (s.thread.joinable()) s.thread.join();
  // A model load in progress finishes first (its reply is dropped below): the scheduler it uses is stopped
  // only after the front ends.
  if (s.upload_thread.joinable()) s.upload_thread.join();
  {
    std::lock_guard<std::mutex> lock(s.outbox->mu);
    s.outbox->closed = true;
    s.outbox->frames.clear();
    s.outbox->wake_send.close();
  }
  s.router.close();
  s.wake_recv.close();
  // After the router: its connections may still be in their handshake until it is closed.
  s.monitor.close();
  s.zap.close();
}

}  // namespace accel
