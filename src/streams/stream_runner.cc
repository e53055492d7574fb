#include "streams/stream_runner.h"

#include <algorithm>
#include <deque>
#include <map>
#include <optional>
#include <tuple>

#include "core/logging.h"
#include "metrics/metrics.h"
#include "pipeline/detection_pipeline.h"
#include "streams/frame_sampler.h"
#include "streams/stream_tracker.h"
#include "vision/draw.h"

namespace accel {
namespace {

constexpr const char* kLog = "streams";
constexpr auto kSnapshotInterval = std::chrono::seconds(1);
constexpr auto kCountsRefresh = std::chrono::seconds(30);  // counts are sent on change, and this often
constexpr int kSnapshotQuality = 80;
constexpr size_t kLatencyWindow = 256;
constexpr auto kRateWindow = std::chrono::seconds(10);

double UnixNow() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

double Percentile(std::vector<double> values, double q) {
  if (values.empty()) return -1;
  std::sort(values.begin(), values.end());
  const size_t index = std::min(values.size() - 1, static_cast<size_t>(q * (values.size() - 1) + 0.5));
  return values[index];
}

int TrackTotal(const StreamCounts& counts) {
  int total = 0;
  for (const auto& [label, n] : counts.per_label) total += n;
  return total;
}

}  // namespace

struct StreamRunner::Finished {
  DecodedFrame frame;
  StatusOr<DetectionResult> result = Internal("unset");
};

// Where a finished detection waits for the runner's thread. Shared with the pipeline's callback, which may
// fire after the runner is gone.
struct StreamRunner::Inbox {
  std::mutex mu;
  std::condition_variable cv;
  bool stopping = false;
  std::optional<Finished> done;
};

struct StreamRunner::Impl {
  explicit Impl(const StreamConfig& config, const StreamRunnerDeps& deps)
      : source(FrameSourceOptions{.url = config.url,
                                  .loop = config.loop,
                                  .hwaccel = config.hwaccel,
                                  .fit_width = deps.fit_width,
                                  .fit_height = deps.fit_height}),
        tracker(config.name, config.tracker, config.zones),
        sampler(config.fps),
        inbox(std::make_shared<Inbox>()) {}

  FrameSource source;
  StreamTracker tracker;
  FrameSampler sampler;  // runner thread only
  std::shared_ptr<Inbox> inbox;
  std::uint64_t last_frame = 0;  // index of the last frame sampled

  std::map<std::string, int> last_counts;
  SteadyTime last_counts_sent{};
  SteadyTime last_snapshot{};
  SteadyTime last_tracked{};  // when the tracker last saw a frame (or aged its tracks out)

  mutable std::mutex mu;  // guards what Stats() and Snapshot() read
  StreamStats stats;
  std::shared_ptr<const std::string> snapshot;
  std::deque<double> latencies_ms;
  std::deque<std::tuple<SteadyTime, std::uint64_t, std::uint64_t>> rate_points;  // time, decoded, detected
  std::atomic<bool> stopping{false};
};

StreamRunner::StreamRunner(StreamConfig config, StreamRunnerDeps deps)
    : config_(std::move(config)), deps_(std::move(deps)), impl_(std::make_unique<Impl>(config_, deps_)) {}

StreamRunner::~StreamRunner() { Stop(); }

void StreamRunner::Start() {
  if (thread_.joinable()) return;
  for (auto& sink : deps_.sinks) sink->StreamAdded(config_.name, deps_.labels);
  impl_->source.Start();
  thread_ = std::thread([this] { Run(); });
}

void StreamRunner::Stop() {
  if (impl_->stopping.exchange(true)) return;
  {
    std::lock_guard<std::mutex> lock(impl_->inbox->mu);
    impl_->inbox->stopping = true;
  }
  impl_->inbox->cv.notify_all();
  impl_->source.Stop();
  if (thread_.joinable()) thread_.join();
  // The tracks still open end with the stream.
  for (const StreamEvent& event : impl_->tracker.Flush(UnixNow())) {
    for (auto& sink : deps_.sinks) sink->Publish(event);
  }
}

StreamStats StreamRunner::Stats() const {
  StreamStats out;
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    out = impl_->stats;
  }
  out.source = impl_->source.Stats();
  return out;
}

std::shared_ptr<const std::string> StreamRunner::Snapshot() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->snapshot;
}

void StreamRunner::Run() {
  Impl& s = *impl_;
  Inbox& inbox = *s.inbox;
  const std::string snapshot_path = "/ai/streams/" + config_.name + "/snapshot.jpg";
  std::optional<Finished> done;
  const auto unseen_limit = std::chrono::duration_cast<Micros>(
      std::chrono::duration<double>(std::max(config_.tracker.max_age_s, 0.1)));
  s.last_tracked = std::chrono::steady_clock::now();
  while (!s.stopping) {
    const SteadyTime now = std::chrono::steady_clock::now();
    // Rates over the last ~10 s, refreshed once a second.
    {
      std::lock_guard<std::mutex> lock(s.mu);
      if (s.rate_points.empty() || now - std::get<0>(s.rate_points.back()) >= std::chrono::seconds(1)) {
        const FrameSourceStats source = s.source.Stats();
        s.rate_points.emplace_back(now, source.decoded, s.stats.detected);
        while (s.rate_points.size() > 2 && now - std::get<0>(s.rate_points.front()) > kRateWindow)
          s.rate_points.pop_front();
        const auto& [t0, decoded0, detected0] = s.rate_points.front();
        const double span = std::chrono::duration<double>(now - t0).count();
        if (span > 0.5) {
          s.stats.decoded_fps = static_cast<double>(source.decoded - decoded0) / span;
          s.stats.detection_fps = static_cast<double>(s.stats.detected - detected0) / span;
        }
      }
    }
    if (!s.sampler.in_flight() && now - s.last_tracked > unseen_limit) EndUnseenTracks(now, snapshot_path);
    switch (s.sampler.Tick(now)) {
      case FrameSampler::Decision::kWait:
        break;
      case FrameSampler::Decision::kBusy: {
        std::lock_guard<std::mutex> lock(s.mu);
        s.stats.busy_skips = s.sampler.busy_skips();
        break;
      }
      case FrameSampler::Decision::kSample: {
        std::optional<DecodedFrame> frame = s.source.TakeNewest(s.last_frame);
        if (!frame) {
          s.sampler.Abandon(now);
          break;
        }
        s.last_frame = frame->index;
        DetectionRequest request;
        request.model = config_.model;
        request.engine = config_.engine;
        request.filter.threshold = config_.threshold;
        request.filter.targets = config_.targets;
        request.filter.max_results = 100;
        request.use_cache = false;
        request.image = frame->image;  // a copy: the snapshot is drawn on the original
        deps_.pipeline->Detect(std::move(request), [inbox = s.inbox, frame = std::move(*frame)](
                                                       StatusOr<DetectionResult> result) mutable {
          std::lock_guard<std::mutex> lock(inbox->mu);
          inbox->done.emplace(Finished{std::move(frame), std::move(result)});
          inbox->cv.notify_all();
        });
        break;
      }
    }
    {
      std::unique_lock<std::mutex> lock(inbox.mu);
      inbox.cv.wait_until(lock, s.sampler.next_due(),
                          [&] { return inbox.stopping || inbox.done.has_value(); });
      if (inbox.stopping) break;
      if (inbox.done) {
        done = std::move(inbox.done);
        inbox.done.reset();
      }
    }
    if (done) {
      s.sampler.Finished();
      Process(std::move(*done), snapshot_path);
      done.reset();
    }
  }
}

void StreamRunner::EndUnseenTracks(SteadyTime now, const std::string& snapshot_path) {
  Impl& s = *impl_;
  s.last_tracked = now;
  const double unix_now = UnixNow();
  std::vector<StreamEvent> events = s.tracker.Update({}, unix_now, s.last_frame);
  const size_t event_count = events.size();
  const StreamCounts counts = s.tracker.Counts(unix_now);
  PublishEvents(std::move(events), snapshot_path);
  PublishCountsIfChanged(counts, now);
  std::lock_guard<std::mutex> lock(s.mu);
  s.stats.events += event_count;
  s.stats.tracks = TrackTotal(counts);
}

void StreamRunner::PublishEvents(std::vector<StreamEvent> events, const std::string& snapshot_path) {
  for (StreamEvent& e : events) {
    e.snapshot = snapshot_path;
    for (auto& sink : deps_.sinks) sink->Publish(e);
  }
}

void StreamRunner::PublishCountsIfChanged(const StreamCounts& counts, SteadyTime now) {
  Impl& s = *impl_;
  if (counts.per_label == s.last_counts && now - s.last_counts_sent < kCountsRefresh) return;
  s.last_counts = counts.per_label;
  s.last_counts_sent = now;
  for (auto& sink : deps_.sinks) sink->PublishCounts(counts);
}

void StreamRunner::Process(Finished&& done, const std::string& snapshot_path) {
  Impl& s = *impl_;
  const SteadyTime now = std::chrono::steady_clock::now();
  if (!done.result.ok()) {
    std::lock_guard<std::mutex> lock(s.mu);
    if (s.stats.detection_errors++ % 100 == 0)
      ACCEL_LOG(kWarn, kLog) << config_.name << ": detection failed: " << done.result.status().message();
    s.stats.last_detection_error = done.result.status().message();
    return;
  }
  const DetectionResult& result = *done.result;
  std::vector<std::uint64_t> track_ids;
  std::vector<StreamEvent> events =
      s.tracker.Update(result.detections, done.frame.unix_time, done.frame.index, &track_ids);
  const SteadyTime processed = std::chrono::steady_clock::now();
  const double latency_s = std::chrono::duration<double>(processed - done.frame.decoded_at).count();
  if (deps_.detection_latency) deps_.detection_latency->Observe(latency_s);

  // The snapshot labels each box of a confirmed track with its id.
  std::vector<Detection> drawn = result.detections;
  for (size_t i = 0; i < drawn.size() && i < track_ids.size(); ++i)
    if (track_ids[i] != 0) drawn[i].label += " #" + std::to_string(track_ids[i]);

  s.last_tracked = now;
  if (!events.empty() && deps_.event_latency) deps_.event_latency->Observe(latency_s);
  const size_t event_count = events.size();
  const StreamCounts counts = s.tracker.Counts(done.frame.unix_time);
  PublishEvents(std::move(events), snapshot_path);
  PublishCountsIfChanged(counts, now);

  std::shared_ptr<const std::string> jpeg;
  if (event_count > 0 || now - s.last_snapshot >= kSnapshotInterval) {
    s.last_snapshot = now;
    Image image = std::move(done.frame.image);
    DrawDetections(image, drawn);
    auto encoded = EncodeJpeg(image, kSnapshotQuality);
    if (encoded.ok()) {
      jpeg = std::make_shared<const std::string>(encoded->begin(), encoded->end());
      for (auto& sink : deps_.sinks) sink->PublishSnapshot(config_.name, *jpeg);
    }
  }

  std::lock_guard<std::mutex> lock(s.mu);
  ++s.stats.detected;
  s.stats.events += event_count;
  s.stats.busy_skips = s.sampler.busy_skips();
  s.stats.last_detection_unix = done.frame.unix_time;
  s.stats.tracks = TrackTotal(counts);
  if (jpeg) s.snapshot = std::move(jpeg);
  s.latencies_ms.push_back(latency_s * 1000);
  if (s.latencies_ms.size() > kLatencyWindow) s.latencies_ms.pop_front();
  std::vector<double> window(s.latencies_ms.begin(), s.latencies_ms.end());
  s.stats.latency_p50_ms = Percentile(window, 0.5);
  s.stats.latency_p95_ms = Percentile(window, 0.95);
}

}  // namespace accel
