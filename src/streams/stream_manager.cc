#include "streams/stream_manager.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

#include "core/logging.h"
#include "metrics/exposition.h"
#include "metrics/metrics.h"
#include "pipeline/detection_pipeline.h"
#include "scheduler/scheduler.h"
#include "streams/frame_source.h"

namespace accel {
namespace {

using json = nlohmann::json;
constexpr const char* kLog = "streams";

// JSON (from StreamConfigToJson) as YAML; strings double-quoted so that they read back as strings.
void EmitJson(YAML::Emitter& out, const json& value) {
  if (value.is_object()) {
    out << YAML::BeginMap;
    for (auto it = value.begin(); it != value.end(); ++it) {
      out << YAML::Key << it.key() << YAML::Value;
      EmitJson(out, it.value());
    }
    out << YAML::EndMap;
  } else if (value.is_array()) {
    const bool flow = !value.empty() && !value[0].is_object();
    out << (flow ? YAML::Flow : YAML::Block) << YAML::BeginSeq;
    for (const auto& item : value) EmitJson(out, item);
    out << YAML::EndSeq;
  } else if (value.is_string()) {
    out << YAML::DoubleQuoted << value.get<std::string>();
  } else if (value.is_boolean()) {
    out << (value.get<bool>() ? "true" : "false");
  } else if (value.is_number_integer()) {
    out << value.get<long long>();
  } else if (value.is_number()) {
    out << value.get<double>();
  } else {
    out << YAML::Null;
  }
}

Status WriteFileAtomically(const std::string& path, const std::string& content) {
  const std::string temp = path + ".tmp." + std::to_string(::getpid());
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Unavailable("cannot write " + temp + ": " + std::strerror(errno));
  size_t written = 0;
  while (written < content.size()) {
    const ssize_t n = ::write(fd, content.data() + written, content.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const std::string why = std::strerror(errno);
      ::close(fd);
      ::unlink(temp.c_str());
      return Unavailable("cannot write " + temp + ": " + why);
    }
    written += static_cast<size_t>(n);
  }
  const bool synced = ::fsync(fd) == 0;
  ::close(fd);
  if (!synced || ::rename(temp.c_str(), path.c_str()) != 0) {
    const std::string why = std::strerror(errno);
    ::unlink(temp.c_str());
    return Unavailable("cannot replace " + path + ": " + why);
  }
  return Status::Ok();
}

}  // namespace

StreamManager::StreamManager(StreamManagerOptions options)
    : options_(std::move(options)), link_(std::make_shared<CollectorLink>()) {
  validation_.engines = options_.engines;
  Scheduler* scheduler = options_.scheduler;
  const std::string default_model = options_.pipeline ? options_.pipeline->default_model() : "";
  validation_.model_exists = [scheduler, default_model](const std::string& model) {
    if (!scheduler) return true;
    return scheduler->FindModel(model.empty() ? default_model : model) != nullptr;
  };
  link_->manager = this;
  if (MetricRegistry* r = options_.metrics) {
    const std::vector<double> buckets = {0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
    event_latency_ = r->AddHistogram("accel_stream_frame_to_event_seconds",
                                     "From a frame's decoding to the events it made, per frame with events.",
                                     {"stream"}, buckets, 1000);
    detection_latency_ = r->AddHistogram(
        "accel_stream_detection_latency_seconds",
        "From a sampled frame's decoding to its detections being tracked and published, per frame.",
        {"stream"}, buckets, 1000);
    r->AddCollector([link = link_](ExpositionWriter& out) {
      std::lock_guard<std::mutex> lock(link->mu);
      if (link->manager) link->manager->CollectMetrics(out);
    });
  }
}

StreamManager::~StreamManager() {
  {
    std::lock_guard<std::mutex> lock(link_->mu);
    link_->manager = nullptr;
  }
  StopAll();
}

Status StreamManager::Check(const StreamConfig& config) const {
  ACCEL_RETURN_IF_ERROR(ValidateStreamConfig(config, validation_));
  if (config.outputs.mqtt && !options_.mqtt)
    return InvalidArgument("outputs.mqtt: no MQTT broker is configured (--mqtt-url / MQTT_URL)");
  if (config.outputs.redis && !options_.redis)
    return InvalidArgument(
        "outputs.redis: no Redis is configured for events (--events-redis-url / "
        "EVENTS_REDIS_URL)");
  return Status::Ok();
}

std::shared_ptr<StreamRunner> StreamManager::MakeRunner(const StreamConfig& config) const {
  StreamRunnerDeps deps;
  deps.pipeline = options_.pipeline;
  if (options_.sse) deps.sinks.push_back(options_.sse);
  if (config.outputs.mqtt && options_.mqtt) deps.sinks.push_back(options_.mqtt);
  if (config.outputs.redis && options_.redis) deps.sinks.push_back(options_.redis);
  deps.labels = config.targets;
  if (options_.scheduler) {
    const std::string model = config.model.empty() ? options_.pipeline->default_model() : config.model;
    if (auto found = options_.scheduler->FindModel(model)) {
      deps.fit_width = found->input.width;
      deps.fit_height = found->input.height;
    }
  }
  if (event_latency_) deps.event_latency = event_latency_->WithLabels({config.name});
  if (detection_latency_) deps.detection_latency = detection_latency_->WithLabels({config.name});
  return std::make_shared<StreamRunner>(config, std::move(deps));
}

Status StreamManager::Start() {
  if (options_.streams_file.empty()) return Status::Ok();
  std::error_code ec;
  if (!std::filesystem::exists(options_.streams_file, ec)) {
    ACCEL_LOG(kInfo, kLog) << "streams file " << options_.streams_file
                           << " does not exist yet; it is written at the first change";
    return Status::Ok();
  }
  json root;
  try {
    root = YamlToJson(YAML::LoadFile(options_.streams_file));
  } catch (const std::exception& e) {
    return InvalidArgument("streams file " + options_.streams_file + ": " + e.what());
  }
  const std::string where = "streams file " + options_.streams_file;
  if (root.is_null()) return Status::Ok();
  if (!root.is_object() || (root.size() > 1 || (root.size() == 1 && !root.contains("streams"))))
    return InvalidArgument(where + ": expected a mapping with one key, 'streams'");
  const json& list = root.value("streams", json::array());
  if (list.is_null()) return Status::Ok();
  if (!list.is_array()) return InvalidArgument(where + ": 'streams' must be a list");
  if (list.size() > static_cast<size_t>(kMaxStreams))
    return InvalidArgument(where + ": at most " + std::to_string(kMaxStreams) + " streams");
  std::vector<StreamConfig> configs;
  for (size_t i = 0; i < list.size(); ++i) {
    auto config = StreamConfigFromJson(list[i]);
    Status s = config.ok() ? Check(*config) : config.status();
    if (!s.ok()) return InvalidArgument(where + ": stream " + std::to_string(i + 1) + ": " + s.message());
    for (const auto& other : configs)
      if (other.name == config->name)
        return InvalidArgument(where + ": stream '" + config->name + "' appears twice");
    configs.push_back(std::move(*config));
  }
  std::lock_guard<std::mutex> change(change_mu_);
  for (const StreamConfig& config : configs) {
    auto runner = MakeRunner(config);
    runner->Start();
    std::lock_guard<std::mutex> lock(mu_);
    streams_[config.name] = std::move(runner);
  }
  ACCEL_LOG(kInfo, kLog) << configs.size() << " stream(s) started from " << options_.streams_file;
  return Status::Ok();
}

Status StreamManager::Add(StreamConfig config, bool replace) {
  ACCEL_RETURN_IF_ERROR(Check(config));
  std::lock_guard<std::mutex> change(change_mu_);
  if (stopped_) return Unavailable("the service is stopping");
  std::shared_ptr<StreamRunner> old;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = streams_.find(config.name);
    if (!replace && it != streams_.end())
      return FailedPrecondition("stream '" + config.name + "' exists; PUT /ai/streams/" + config.name +
                                " replaces it");
    if (replace && it == streams_.end()) return NotFound("no stream named '" + config.name + "'");
    if (!replace && streams_.size() >= static_cast<size_t>(kMaxStreams))
      return FailedPrecondition("at most " + std::to_string(kMaxStreams) + " streams");
    if (it != streams_.end()) old = it->second;
  }
  if (old) {
    old->Stop();
    // An output the stream no longer uses retracts it (Home Assistant's entities, the retained state).
    if (old->config().outputs.mqtt && !config.outputs.mqtt && options_.mqtt)
      options_.mqtt->StreamRemoved(config.name);
    if (old->config().outputs.redis && !config.outputs.redis && options_.redis)
      options_.redis->StreamRemoved(config.name);
  }
  auto runner = MakeRunner(config);
  runner->Start();
  {
    std::lock_guard<std::mutex> lock(mu_);
    streams_[config.name] = runner;
  }
  ACCEL_LOG(kInfo, kLog) << (replace ? "stream replaced: " : "stream added: ") << config.name << " ("
                         << RedactUrl(config.url) << ", " << config.fps << " fps)";
  return Persist();
}

Status StreamManager::Remove(const std::string& name) {
  std::lock_guard<std::mutex> change(change_mu_);
  std::shared_ptr<StreamRunner> runner;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = streams_.find(name);
    if (it == streams_.end()) return NotFound("no stream named '" + name + "'");
    runner = std::move(it->second);
    streams_.erase(it);
  }
  runner->Stop();
  if (options_.sse) options_.sse->StreamRemoved(name);
  if (runner->config().outputs.mqtt && options_.mqtt) options_.mqtt->StreamRemoved(name);
  if (runner->config().outputs.redis && options_.redis) options_.redis->StreamRemoved(name);
  ACCEL_LOG(kInfo, kLog) << "stream removed: " << name;
  return Persist();
}

Status StreamManager::Persist() {
  if (options_.streams_file.empty()) return Status::Ok();
  json list = json::array();
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [name, runner] : streams_) list.push_back(StreamConfigToJson(runner->config(), false));
  }
  YAML::Emitter out;
  out << YAML::Comment("Streams of `accel serve --streams` (docs/streams.md). Rewritten by the API.");
  EmitJson(out, json{{"streams", std::move(list)}});
  Status s = WriteFileAtomically(options_.streams_file, std::string(out.c_str()) + "\n");
  if (!s.ok()) {
    ACCEL_LOG(kError, kLog) << "the change is live but not saved: " << s.message();
    return Unavailable("the change is live but could not be saved: " + s.message());
  }
  return Status::Ok();
}

std::vector<StreamInfo> StreamManager::List() const {
  std::vector<std::shared_ptr<StreamRunner>> runners;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [name, runner] : streams_) runners.push_back(runner);
  }
  std::vector<StreamInfo> out;
  for (const auto& runner : runners) out.push_back(StreamInfo{runner->config(), runner->Stats()});
  return out;
}

std::optional<StreamInfo> StreamManager::Get(const std::string& name) const {
  std::shared_ptr<StreamRunner> runner;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = streams_.find(name);
    if (it == streams_.end()) return std::nullopt;
    runner = it->second;
  }
  return StreamInfo{runner->config(), runner->Stats()};
}

std::vector<std::pair<std::string, EventSinkStats>> StreamManager::OutputStats() const {
  std::vector<std::pair<std::string, EventSinkStats>> out;
  for (const auto* sink : {&options_.sse, &options_.mqtt, &options_.redis})
    if (*sink) out.emplace_back(std::string((*sink)->name()), (*sink)->Stats());
  return out;
}

StatusOr<std::shared_ptr<const std::string>> StreamManager::Snapshot(const std::string& name) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = streams_.find(name);
  if (it == streams_.end()) return NotFound("no stream named '" + name + "'");
  return it->second->Snapshot();
}

Status StreamManager::RunChange(std::function<void()> change) {
  return change_workers_.Run(std::move(change));
}

void StreamManager::StopAll() {
  // First, without change_mu_: the changes running take it.
  change_workers_.CloseAndJoin();
  std::lock_guard<std::mutex> change(change_mu_);
  stopped_ = true;
  std::map<std::string, std::shared_ptr<StreamRunner>> runners;
  {
    std::lock_guard<std::mutex> lock(mu_);
    runners.swap(streams_);
  }
  if (runners.empty()) return;
  // In parallel: each runner's stop waits for its source thread (up to ~1 s).
  std::vector<std::thread> stoppers;
  for (auto& entry : runners) stoppers.emplace_back([runner = entry.second] { runner->Stop(); });
  for (auto& t : stoppers) t.join();
  ACCEL_LOG(kInfo, kLog) << runners.size() << " stream(s) stopped";
}

void StreamManager::CollectMetrics(ExpositionWriter& out) const {
  const std::vector<StreamInfo> streams = List();
  struct Counter {
    const char* name;
    const char* help;
    MetricType type;
    std::function<double(const StreamStats&)> value;
  };
  const Counter counters[] = {
      {"accel_stream_frames_decoded_total", "Frames decoded from the stream's source.", MetricType::kCounter,
       [](const StreamStats& s) { return static_cast<double>(s.source.decoded); }},
      {"accel_stream_frames_detected_total", "Sampled frames whose detection finished.", MetricType::kCounter,
       [](const StreamStats& s) { return static_cast<double>(s.detected); }},
      {"accel_stream_decode_errors_total", "Packets or frames the decoder reported as broken.",
       MetricType::kCounter,
       [](const StreamStats& s) { return static_cast<double>(s.source.decode_errors); }},
      {"accel_stream_reconnects_total", "Times the source was opened again after a failure or a stall.",
       MetricType::kCounter, [](const StreamStats& s) { return static_cast<double>(s.source.reconnects); }},
      {"accel_stream_detection_errors_total", "Sampled frames whose detection failed.", MetricType::kCounter,
       [](const StreamStats& s) { return static_cast<double>(s.detection_errors); }},
      {"accel_stream_events_total", "Track events (start, update, end) the stream produced.",
       MetricType::kCounter, [](const StreamStats& s) { return static_cast<double>(s.events); }},
      {"accel_stream_decoded_fps", "Frames decoded per second over the last ~10 s.", MetricType::kGauge,
       [](const StreamStats& s) { return s.decoded_fps; }},
      {"accel_stream_detection_fps", "Detections per second over the last ~10 s.", MetricType::kGauge,
       [](const StreamStats& s) { return s.detection_fps; }},
      {"accel_stream_tracks", "Confirmed tracks now.", MetricType::kGauge,
       [](const StreamStats& s) { return static_cast<double>(s.tracks); }},
  };
  for (const Counter& c : counters) {
    out.BeginFamily(c.name, c.help, c.type);
    for (const StreamInfo& s : streams) out.Sample(c.name, {{"stream", s.config.name}}, c.value(s.stats));
  }
  out.BeginFamily("accel_stream_frames_dropped_total",
                  "Decoded frames never run: reason=source (replaced by a newer frame before sampling), "
                  "busy (a sample fell due while a detection was still in flight).",
                  MetricType::kCounter);
  for (const StreamInfo& s : streams) {
    out.Sample("accel_stream_frames_dropped_total", {{"stream", s.config.name}, {"reason", "source"}},
               static_cast<double>(s.stats.source.dropped));
    out.Sample("accel_stream_frames_dropped_total", {{"stream", s.config.name}, {"reason", "busy"}},
               static_cast<double>(s.stats.busy_skips));
  }
  out.BeginFamily("accel_stream_state", "1 for the stream's current source state.", MetricType::kGauge);
  for (const StreamInfo& s : streams) {
    for (SourceState state : {SourceState::kConnecting, SourceState::kRunning, SourceState::kReconnecting,
                              SourceState::kFailed, SourceState::kEnded, SourceState::kStopped}) {
      out.Sample("accel_stream_state", {{"stream", s.config.name}, {"state", SourceStateName(state)}},
                 s.stats.source.state == state ? 1 : 0);
    }
  }
}

}  // namespace accel
