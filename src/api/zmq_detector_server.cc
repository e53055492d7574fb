#include "api/zmq_detector_server.h"

#include <nlohmann/json.hpp>
#include <zmq.hpp>

#include <algorithm>
#include <atomic>
#include <deque>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>

#include "api/request_metrics.h"
#include "api/zmq_detector_request.h"
#include "core/clock.h"
#include "core/logging.h"
#include "vision/image.h"

namespace accel {
namespace {

using nlohmann::json;
using Frames = ZmqFrames;

constexpr int kRows = 20;
constexpr int kCols = 6;
constexpr size_t kReplyBytes = kRows * kCols * sizeof(float);

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
  std::shared_ptr<ZmqOutbox> outbox = std::make_shared<ZmqOutbox>();
  std::thread thread;
  std::atomic<bool> stopping{false};
  std::string bound;
  bool started = false;

  Impl(ServiceContext& c, Options o) : ctx(c), options(std::move(o)) {}

  std::string ModelName() const {
    return options.model.empty() ? ctx.pipeline->default_model() : options.model;
  }
  bool ModelLoaded() const {
    for (const auto& m : ctx.scheduler->Models())
      if (m.name == ModelName()) return m.ready;
    return false;
  }

  // Socket thread. Every client message gets exactly one reply, even when handling it throws: this is the
  // per-message exception boundary of the zmq front end.
  void Handle(Frames envelope, Frames body) {
    auto reply = [outbox = outbox, envelope](Frames r) mutable {
      outbox->Post(std::move(envelope), std::move(r));
    };
    try {
      HandleRequest(std::move(body), reply);
    } catch (const std::exception& e) {
      ACCEL_LOG(kError, "zmq") << "request handler threw: " << e.what();
      reply(ErrorReply(std::string("internal error: ") + e.what()));
    }
  }

  template <typename Reply>
  void HandleRequest(Frames body, Reply& reply) {
    auto parsed = ParseZmqRequest(body, {ctx.pipeline->limits(), options.bgr});
    if (!parsed.ok()) return reply(ErrorReply(parsed.status().message()));
    if (parsed->kind == ZmqRequest::Kind::kModelRequest) {
      json r = {{"model_available", true},
                {"model_loaded", ModelLoaded()},
                {"model_name", ModelName()},
                {"server", "accel"}};
      return reply({r.dump()});
    }
    if (parsed->kind == ZmqRequest::Kind::kModelData) {
      json r = {{"model_saved", false},
                {"model_loaded", ModelLoaded()},
                {"error", "Accel does not accept model uploads; it serves '" + ModelName() +
                              "' from its model repository"}};
      return reply({r.dump()});
    }
    const int width = parsed->image.width;
    const int height = parsed->image.height;
    DetectionRequest request;
    request.model = options.model;
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
      zmq::pollitem_t items[] = {{router.handle(), 0, ZMQ_POLLIN, 0}, {wake_recv.handle(), 0, ZMQ_POLLIN, 0}};
      try {
        zmq::poll(items, 2, std::chrono::milliseconds(-1));
      } catch (const zmq::error_t& e) {
        if (e.num() == EINTR) continue;
        ACCEL_LOG(kError, "zmq") << "poll failed: " << e.what();
        return;
      }
      if (stopping.load()) return;
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
  try {
    s.router = zmq::socket_t(s.zctx, zmq::socket_type::router);
    s.router.set(zmq::sockopt::linger, 0);
    s.router.set(zmq::sockopt::maxmsgsize, s.options.max_message_bytes);
    s.router.bind(s.options.endpoint);
    s.bound = s.router.get(zmq::sockopt::last_endpoint);
    const std::string wake = "inproc://accel-zmq-wake-" + std::to_string(reinterpret_cast<uintptr_t>(this));
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
  ACCEL_LOG(kInfo, "zmq") << "Frigate zmq detector listening on " << s.bound << " (model " << s.ModelName()
                          << ")";
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
  {
    std::lock_guard<std::mutex> lock(s.outbox->mu);
    s.outbox->closed = true;
    s.outbox->frames.clear();
    s.outbox->wake_send.close();
  }
  s.router.close();
  s.wake_recv.close();
}

}  // namespace accel
