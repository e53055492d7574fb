// SseHub: the Server-Sent Events output of watched streams (GET /ai/streams/{name}/events). An EventSink
// that writes each event to the HTTP streaming responses subscribed to its stream, as
//   event: start|update|end|counts
//   data: <the event's JSON, stream_event.h>
// with a comment line every keepalive interval so that proxies keep idle connections open. It never
// blocks the stream runner: each client has a bounded queue in the HTTP server, and a client that falls
// that far behind is disconnected (and counted in Stats().dropped). The number of clients is bounded too.
#pragma once

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "api/http_types.h"
#include "streams/event_sink.h"

namespace accel {

class SseHub : public EventSink {
 public:
  struct Options {
    size_t max_clients = 64;  // over every stream
    std::chrono::milliseconds keepalive{15000};
    size_t max_buffered_bytes = 256 << 10;  // per client (HttpResponse::stream_max_buffered_bytes)
  };
  explicit SseHub(Options options);
  ~SseHub() override;  // CloseAll()

  // The streaming response for a new client of `stream`; a JSON 503 when max_clients are connected.
  HttpResponse Subscribe(const std::string& stream);
  // Ends every client's response (service drain and stop). Later subscriptions are refused.
  void CloseAll();
  size_t client_count() const;

  std::string_view name() const override { return "sse"; }
  void Publish(const StreamEvent& event) override;
  void PublishCounts(const StreamCounts& counts) override;
  void PublishSnapshot(std::string_view, std::string_view) override {}  // snapshot.jpg serves images
  void StreamAdded(std::string_view, const std::vector<std::string>&) override {}
  void StreamRemoved(std::string_view stream) override;  // its clients' responses end
  EventSinkStats Stats() const override;

 private:
  void Send(const std::string& stream, const std::string& text);
  void KeepAlive();

  const Options options_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool closed_ = false;
  size_t reserved_ = 0;  // clients counted from Subscribe until the server hands their stream over
  std::multimap<std::string, std::shared_ptr<HttpBodyStream>> clients_;
  EventSinkStats stats_;
  std::thread keepalive_;
};

}  // namespace accel
