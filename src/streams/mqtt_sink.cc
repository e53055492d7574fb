#include "streams/mqtt_sink.h"

#include <mosquitto.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "core/logging.h"
#include "core/url_authority.h"
#include "streams/ha_discovery.h"

namespace accel {
namespace {

// Messages handed to libmosquitto and not yet acknowledged, at most: libmosquitto queues without a bound,
// so the sink keeps the backlog in its own bounded buffer instead.
constexpr size_t kMaxInFlight = 20;

bool ValidPrefix(const std::string& prefix) {
  return prefix.find_first_of("+#") == std::string::npos && (prefix.empty() || prefix.back() != '/');
}

std::string DefaultClientId() {
  char host[64] = {};
  gethostname(host, sizeof host - 1);
  return "accel-" + MqttId(host) + "-" + std::to_string(getpid());
}

void InitLibrary() {
  static std::once_flag once;
  std::call_once(once, [] { mosquitto_lib_init(); });
}

class MqttSink final : public EventSink {
 public:
  MqttSink(MqttSinkOptions options, MqttUrl url)
      : options_(std::move(options)),
        url_(std::move(url)),
        topics_{options_.topic_prefix, options_.discovery_prefix} {}

  Status Start() {
    InitLibrary();
    const std::string client_id = options_.client_id.empty() ? DefaultClientId() : options_.client_id;
    mosq_ = mosquitto_new(client_id.c_str(), true, this);
    if (!mosq_) return Internal("MQTT: cannot create a client");
    if (!url_.username.empty())
      mosquitto_username_pw_set(mosq_, url_.username.c_str(),
                                url_.password.empty() ? nullptr : url_.password.c_str());
    const std::string status = StatusTopic(options_.topic_prefix);
    mosquitto_will_set(mosq_, status.c_str(), 7, "offline", options_.qos, true);
    mosquitto_reconnect_delay_set(mosq_, std::max(1, options_.reconnect_min_s),
                                  std::max(options_.reconnect_min_s, options_.reconnect_max_s), true);
    mosquitto_connect_callback_set(
        mosq_, [](mosquitto*, void* self, int rc) { static_cast<MqttSink*>(self)->OnConnect(rc); });
    mosquitto_disconnect_callback_set(
        mosq_, [](mosquitto*, void* self, int rc) { static_cast<MqttSink*>(self)->OnDisconnect(rc); });
    mosquitto_publish_callback_set(
        mosq_, [](mosquitto*, void* self, int mid) { static_cast<MqttSink*>(self)->OnPublish(mid); });
    // An immediate failure (name not resolved, connection refused) is not final: the network thread
    // retries with back-off.
    const int rc = mosquitto_connect_async(mosq_, url_.host.c_str(), url_.port, options_.keepalive_s);
    if (rc != MOSQ_ERR_SUCCESS) SetError(std::string("cannot connect: ") + ErrorText(rc));
    if (mosquitto_loop_start(mosq_) != MOSQ_ERR_SUCCESS)
      return Internal("MQTT: cannot start the network thread");
    pump_ = std::thread([this] { RunPump(); });
    return Status::Ok();
  }

  ~MqttSink() override {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    wake_.notify_all();
    if (pump_.joinable()) pump_.join();
    if (!mosq_) return;
    bool connected;
    {
      std::lock_guard lock(mu_);
      connected = connected_;
    }
    if (connected) {
      // A clean DISCONNECT suppresses the will: say "offline" ourselves, before it (same packet queue).
      const std::string status = StatusTopic(options_.topic_prefix);
      mosquitto_publish(mosq_, nullptr, status.c_str(), 7, "offline", options_.qos, true);
    }
    mosquitto_disconnect(mosq_);
    mosquitto_loop_stop(mosq_, false);
    mosquitto_destroy(mosq_);
  }

  std::string_view name() const override { return "mqtt"; }

  void Publish(const StreamEvent& event) override {
    Enqueue(
        {EventsTopic(options_.topic_prefix, event.stream), StreamEventJson(event), options_.retain_events},
        false);
  }

  void PublishCounts(const StreamCounts& counts) override {
    std::vector<MqttMessage> changed;
    {
      std::lock_guard lock(mu_);
      StreamState& state = streams_[counts.stream];
      // A label not announced yet (the stream has no targets) is announced the first time it is counted,
      // before its count, and stays announced until the stream is removed.
      std::vector<std::string> first_seen;
      for (const auto& [label, n] : counts.per_label)
        if (std::find(state.labels.begin(), state.labels.end(), label) == state.labels.end())
          first_seen.push_back(label);
      for (auto& m : HaDiscoveryLabelConfigs(topics_, counts.stream, first_seen))
        changed.push_back(std::move(m));
      state.labels.insert(state.labels.end(), first_seen.begin(), first_seen.end());
      auto& last = state.counts;
      for (const auto& [label, n] : counts.per_label) {
        auto it = last.find(label);
        if (it != last.end() && it->second == n) continue;
        last[label] = n;
        changed.push_back({CountTopic(options_.topic_prefix, counts.stream, label), std::to_string(n), true});
      }
    }
    for (auto& m : changed) Enqueue(std::move(m), true);
  }

  void PublishSnapshot(std::string_view stream, std::string_view jpeg) override {
    Enqueue({SnapshotTopic(options_.topic_prefix, stream), std::string(jpeg), true}, true);
  }

  void StreamAdded(std::string_view stream, const std::vector<std::string>& labels) override {
    std::vector<MqttMessage> messages;
    {
      std::lock_guard lock(mu_);
      StreamState& state = streams_[std::string(stream)];
      // With targets, exactly those are announced: labels dropped by a change of the stream lose their
      // entities. Without, the labels announced so far stay (any label may be seen again) and the others
      // are announced as they are first counted (PublishCounts).
      if (!labels.empty()) {
        std::vector<std::string> gone;
        for (const auto& l : state.labels)
          if (std::find(labels.begin(), labels.end(), l) == labels.end()) gone.push_back(l);
        for (auto& m : HaDiscoveryRemovals(topics_, stream, gone))
          if (m.topic.find("/camera/") == std::string::npos) messages.push_back(std::move(m));
        state.labels = labels;
      }
      for (auto& m : HaDiscoveryConfigs(topics_, stream, state.labels)) messages.push_back(std::move(m));
      // A count for every label from the start, so the entities show 0 / off instead of "unknown".
      for (const auto& l : labels) {
        if (state.counts.count(l)) continue;
        state.counts[l] = 0;
        messages.push_back({CountTopic(options_.topic_prefix, stream, l), "0", true});
      }
    }
    for (auto& m : messages) Enqueue(std::move(m), true);
  }

  void StreamRemoved(std::string_view stream) override {
    std::vector<MqttMessage> messages;
    {
      std::lock_guard lock(mu_);
      auto it = streams_.find(std::string(stream));
      if (it == streams_.end()) return;
      std::set<std::string> labels(it->second.labels.begin(), it->second.labels.end());
      for (const auto& [label, n] : it->second.counts) labels.insert(label);
      messages = HaDiscoveryRemovals(topics_, stream, {labels.begin(), labels.end()});
      // Clear the retained state too, so nothing stale is left on the broker.
      for (const auto& l : labels)
        messages.push_back({CountTopic(options_.topic_prefix, stream, l), "", true});
      messages.push_back({SnapshotTopic(options_.topic_prefix, stream), "", true});
      streams_.erase(it);
    }
    for (auto& m : messages) Enqueue(std::move(m), true);
  }

  EventSinkStats Stats() const override {
    std::lock_guard lock(mu_);
    EventSinkStats s;
    s.published = published_;
    s.dropped = dropped_;
    s.buffered = queue_.size() + in_flight_.size();
    s.connected = connected_;
    s.last_error = last_error_;
    return s;
  }

 private:
  struct StreamState {
    std::vector<std::string> labels;    // announced: the targets, or those counted so far
    std::map<std::string, int> counts;  // the last count sent per label
  };
  struct Queued {
    MqttMessage message;
    bool coalesce;  // retained state: a newer message on the same topic replaces this one
  };

  static std::string ErrorText(int rc) {
    return rc == MOSQ_ERR_ERRNO ? std::string(strerror(errno)) : std::string(mosquitto_strerror(rc));
  }

  void SetError(std::string error) {
    std::lock_guard lock(mu_);
    last_error_ = std::move(error);
  }

  void Enqueue(MqttMessage message, bool coalesce) {
    {
      std::lock_guard lock(mu_);
      if (coalesce) {
        for (auto& q : queue_) {
          if (q.coalesce && q.message.topic == message.topic) {
            q.message.payload = std::move(message.payload);
            return;  // already queued: the pump will see it
          }
        }
      }
      if (queue_.size() >= std::max<size_t>(1, options_.buffer_limit)) {
        queue_.pop_front();
        ++dropped_;
      }
      queue_.push_back({std::move(message), coalesce});
    }
    wake_.notify_one();
  }

  // Network thread.
  void OnConnect(int rc) {
    bool log;
    {
      std::lock_guard lock(mu_);
      if (rc != 0) {
        last_error_ = "the broker refused the connection: " + std::string(mosquitto_connack_string(rc));
        log = last_error_ != logged_error_;
        logged_error_ = last_error_;
      } else {
        connected_ = true;
        resend_state_ = true;
        acked_early_.clear();  // acknowledgements of messages sent again after a reconnection
        log = true;
        last_error_.clear();
        logged_error_.clear();
      }
    }
    if (rc != 0) {
      if (log)
        ACCEL_LOG(kWarn, "mqtt") << "MQTT broker " << url_.Display() << ": " << mosquitto_connack_string(rc);
      return;
    }
    ACCEL_LOG(kInfo, "mqtt") << "connected to the MQTT broker at " << url_.Display();
    wake_.notify_all();
  }

  void OnDisconnect(int rc) {
    bool log = false;
    std::string error;
    {
      std::lock_guard lock(mu_);
      const bool was = connected_;
      connected_ = false;
      // libmosquitto keeps unacknowledged QoS 1/2 messages and sends them again after reconnecting; the
      // sink stops counting them as in flight (QoS 0 ones are lost with the connection).
      in_flight_.clear();
      if (rc != 0) {
        last_error_ = "connection lost: " + std::string(mosquitto_strerror(rc));
        log = was;
        error = last_error_;
      }
    }
    if (log)
      ACCEL_LOG(kWarn, "mqtt") << "MQTT broker " << url_.Display() << ": " << error
                               << "; events are buffered (up to " << options_.buffer_limit
                               << ") while it reconnects";
  }

  void OnPublish(int mid) {
    {
      std::lock_guard lock(mu_);
      // The pump may not have recorded the mid yet (the acknowledgement beat it): remember it for the pump.
      if (in_flight_.erase(mid) == 0) acked_early_.insert(mid);
      ++published_;
    }
    wake_.notify_one();
  }

  // Hands one message to libmosquitto; false when it did not take it.
  bool Send(const MqttMessage& m, int* mid) {
    const int rc = mosquitto_publish(mosq_, mid, m.topic.c_str(), static_cast<int>(m.payload.size()),
                                     m.payload.data(), options_.qos, m.retain);
    if (rc == MOSQ_ERR_SUCCESS) return true;
    // With QoS 1/2 libmosquitto has queued the message even when the connection just dropped.
    if (rc == MOSQ_ERR_NO_CONN && options_.qos > 0) return true;
    SetError("publish on " + m.topic + " failed: " + ErrorText(rc));
    return false;
  }

  // The sink's own thread: hands queued messages to libmosquitto while connected, at most kMaxInFlight
  // unacknowledged at a time; after each (re)connection first the state (status, discovery, counts).
  void RunPump() {
    std::unique_lock lock(mu_);
    while (!stopping_) {
      if (connected_ && resend_state_) {
        resend_state_ = false;
        std::vector<MqttMessage> state = {{StatusTopic(options_.topic_prefix), "online", true}};
        for (const auto& [stream, s] : streams_) {
          for (auto& m : HaDiscoveryConfigs(topics_, stream, s.labels)) state.push_back(std::move(m));
          for (const auto& [label, n] : s.counts)
            state.push_back({CountTopic(options_.topic_prefix, stream, label), std::to_string(n), true});
        }
        lock.unlock();
        // State messages bypass the in-flight bound: there are few, and they must go first.
        for (const auto& m : state) Send(m, nullptr);
        lock.lock();
        continue;
      }
      if (!connected_ || queue_.empty() || in_flight_.size() >= kMaxInFlight) {
        wake_.wait(lock);
        continue;
      }
      Queued q = std::move(queue_.front());
      queue_.pop_front();
      lock.unlock();
      int mid = 0;
      const bool sent = Send(q.message, &mid);
      lock.lock();
      if (sent) {
        if (acked_early_.erase(mid) == 0) in_flight_.insert(mid);
      } else {
        ++dropped_;
      }
    }
  }

  const MqttSinkOptions options_;
  const MqttUrl url_;
  const HaDiscoveryTopics topics_;
  mosquitto* mosq_ = nullptr;
  std::thread pump_;

  mutable std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;
  bool connected_ = false;
  bool resend_state_ = false;
  std::deque<Queued> queue_;
  std::set<int> in_flight_;
  std::set<int> acked_early_;  // acknowledged before the pump recorded them in flight
  std::map<std::string, StreamState> streams_;
  std::uint64_t published_ = 0;
  std::uint64_t dropped_ = 0;
  std::string last_error_ = "not connected yet";
  std::string logged_error_;
};

}  // namespace

std::string MqttUrl::Display() const { return host + ":" + std::to_string(port); }

StatusOr<MqttUrl> ParseMqttUrl(const std::string& url) {
  std::string_view rest(url);
  if (rest.rfind("mqtts://", 0) == 0)
    return InvalidArgument("MQTT URL: mqtts:// (TLS) is not supported yet; use mqtt:// on a trusted network");
  if (rest.rfind("mqtt://", 0) != 0) return InvalidArgument("MQTT URL: must start with mqtt://");
  rest.remove_prefix(7);
  if (auto slash = rest.find('/'); slash != std::string_view::npos) {
    if (slash + 1 != rest.size()) return InvalidArgument("MQTT URL: no path is allowed after host:port");
    rest = rest.substr(0, slash);
  }
  ACCEL_ASSIGN_OR_RETURN(UrlAuthority authority, ParseUrlAuthority(rest, "MQTT URL"));
  MqttUrl out;
  out.username = std::move(authority.user);
  out.password = authority.password.value_or("");
  if (out.username.empty() && !out.password.empty())
    return InvalidArgument("MQTT URL: a password needs a user name (mqtt://user:password@host)");
  out.host = std::move(authority.host);
  if (authority.port) out.port = *authority.port;
  return out;
}

StatusOr<std::unique_ptr<EventSink>> MakeMqttSink(MqttSinkOptions options) {
  auto url = ParseMqttUrl(options.url);
  if (!url.ok()) return url.status();
  if (options.qos < 0 || options.qos > 2) return InvalidArgument("MQTT: qos must be 0, 1 or 2");
  if (options.topic_prefix.empty() || !ValidPrefix(options.topic_prefix))
    return InvalidArgument("MQTT: the topic prefix must be non-empty, without '+', '#' or a trailing '/'");
  if (!ValidPrefix(options.discovery_prefix))
    return InvalidArgument("MQTT: the discovery prefix must not contain '+' or '#' or end with '/'");
  if (options.buffer_limit < 1) return InvalidArgument("MQTT: the buffer limit must be at least 1");
  if (options.keepalive_s < 5) options.keepalive_s = 5;
  auto sink = std::make_unique<MqttSink>(std::move(options), std::move(url.value()));
  Status started = sink->Start();
  if (!started.ok()) return started;
  return std::unique_ptr<EventSink>(std::move(sink));
}

}  // namespace accel
