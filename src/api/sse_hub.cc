#include "api/sse_hub.h"

namespace accel {

SseHub::SseHub(Options options) : options_(options) {
  keepalive_ = std::thread([this] { KeepAlive(); });
}

SseHub::~SseHub() {
  CloseAll();
  if (keepalive_.joinable()) keepalive_.join();
}

HttpResponse SseHub::Subscribe(const std::string& stream) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_) return JsonErrorResponse(503, "the service is stopping");
    if (clients_.size() + reserved_ >= options_.max_clients)
      return JsonErrorResponse(
          503, "too many event clients (" + std::to_string(options_.max_clients) + "); retry later");
    ++reserved_;
  }
  HttpResponse response;
  response.content_type = "text/event-stream";
  response.headers = {{"Cache-Control", "no-cache"}, {"X-Accel-Buffering", "no"}};
  // The comment tells the client it is subscribed (events may be minutes apart); retry: how soon an
  // EventSource reconnects.
  response.body = "retry: 3000\n: subscribed to " + stream + "\n\n";
  response.stream_max_buffered_bytes = options_.max_buffered_bytes;
  // A reservation the server never hands over (the client left first) is returned by the guard.
  struct Reservation {
    explicit Reservation(SseHub* h) : hub(h) {}
    Reservation(const Reservation&) = delete;
    SseHub* hub;
    bool used = false;
    ~Reservation() {
      if (used) return;
      std::lock_guard<std::mutex> lock(hub->mu_);
      --hub->reserved_;
    }
  };
  auto reservation = std::make_shared<Reservation>(this);
  response.on_stream = [this, stream, reservation](std::shared_ptr<HttpBodyStream> client) {
    std::lock_guard<std::mutex> lock(mu_);
    reservation->used = true;
    --reserved_;
    if (closed_) {
      client->Close();
      return;
    }
    clients_.emplace(stream, std::move(client));
  };
  return response;
}

void SseHub::Send(const std::string& stream, const std::string& text) {
  std::lock_guard<std::mutex> lock(mu_);
  auto [begin, end] = clients_.equal_range(stream);
  for (auto it = begin; it != end;) {
    if (it->second->Write(text)) {
      ++stats_.published;
      ++it;
    } else {
      ++stats_.dropped;  // gone, or too slow: its response ended
      it = clients_.erase(it);
    }
  }
}

void SseHub::Publish(const StreamEvent& event) {
  Send(event.stream, std::string("event: ") + StreamEventTypeName(event.type) +
                         "\ndata: " + StreamEventJson(event) + "\n\n");
}

void SseHub::PublishCounts(const StreamCounts& counts) {
  Send(counts.stream, "event: counts\ndata: " + StreamCountsJson(counts) + "\n\n");
}

void SseHub::StreamRemoved(std::string_view stream) {
  std::lock_guard<std::mutex> lock(mu_);
  auto [begin, end] = clients_.equal_range(std::string(stream));
  for (auto it = begin; it != end; ++it) {
    it->second->Write("event: removed\ndata: {}\n\n");
    it->second->Close();
  }
  clients_.erase(begin, end);
}

void SseHub::CloseAll() {
  std::lock_guard<std::mutex> lock(mu_);
  closed_ = true;
  for (auto& [stream, client] : clients_) client->Close();
  clients_.clear();
  cv_.notify_all();
}

size_t SseHub::client_count() const {
  std::lock_guard<std::mutex> lock(mu_);
  return clients_.size();
}

EventSinkStats SseHub::Stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  EventSinkStats out = stats_;
  out.connected = !closed_;
  return out;
}

void SseHub::KeepAlive() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!closed_) {
    cv_.wait_for(lock, options_.keepalive, [&] { return closed_; });
    if (closed_) break;
    for (auto it = clients_.begin(); it != clients_.end();) {
      if (it->second->Write(": keep-alive\n\n")) {
        ++it;
      } else {
        it = clients_.erase(it);
      }
    }
  }
}

}  // namespace accel
