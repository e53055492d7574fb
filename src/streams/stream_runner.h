// StreamRunner: one watched stream. Its thread samples the source's newest frame at the stream's fps
// (FrameSampler: at most one frame in flight), runs it through the DetectionPipeline like any request
// (same scheduler, use_cache off), feeds the detections to the stream's tracker and hands the events, the
// per-label counts and an annotated JPEG snapshot (at most one a second, and on every event) to its sinks.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "streams/event_sink.h"
#include "streams/frame_source.h"
#include "streams/stream_config.h"

namespace accel {

class DetectionPipeline;
class Histogram;

struct StreamRunnerDeps {
  DetectionPipeline* pipeline = nullptr;          // must outlive the runner
  std::vector<std::shared_ptr<EventSink>> sinks;  // the outputs this stream publishes to
  // Size taken frames are scaled down to (the model's input); 0: the stream's own size.
  int fit_width = 0;
  int fit_height = 0;
  std::vector<std::string> labels;         // the stream's targets (empty: any label), for StreamAdded
  Histogram* event_latency = nullptr;      // decode -> event, seconds (may be null)
  Histogram* detection_latency = nullptr;  // decode -> detections processed, seconds (may be null)
};

struct StreamStats {
  FrameSourceStats source;
  std::uint64_t detected = 0;    // frames whose detection finished
  std::uint64_t busy_skips = 0;  // samples skipped because a detection was still in flight
  std::uint64_t detection_errors = 0;
  std::string last_detection_error;
  std::uint64_t events = 0;
  double decoded_fps = 0;  // over the last ~10 s
  double detection_fps = 0;
  double latency_p50_ms = -1;  // decode -> detections processed, recent frames; -1: none yet
  double latency_p95_ms = -1;
  double last_detection_unix = 0;
  int tracks = 0;  // confirmed tracks now
};

class StreamRunner {
 public:
  StreamRunner(StreamConfig config, StreamRunnerDeps deps);
  ~StreamRunner();  // Stop()
  StreamRunner(const StreamRunner&) = delete;
  StreamRunner& operator=(const StreamRunner&) = delete;

  void Start();
  // Stops sampling and the source (within ~1 s), publishes end events for the tracks still open.
  // Idempotent.
  void Stop();

  const StreamConfig& config() const { return config_; }
  StreamStats Stats() const;
  // The latest annotated JPEG; null before the first detected frame.
  std::shared_ptr<const std::string> Snapshot() const;

 private:
  struct Finished;  // a detection that finished, with its frame
  struct Inbox;
  struct Impl;
  void Run();
  void Process(Finished&& done, const std::string& snapshot_path);
  // No frame has been detected for longer than a track lives (the camera is down, stalled or reconnecting):
  // nothing can be seen, so the tracks age out as they would on empty frames (end events, counts fall to
  // 0) rather than staying on until frames return.
  void EndUnseenTracks(SteadyTime now, const std::string& snapshot_path);
  void PublishEvents(std::vector<StreamEvent> events, const std::string& snapshot_path);
  void PublishCountsIfChanged(const StreamCounts& counts, SteadyTime now);

  const StreamConfig config_;
  StreamRunnerDeps deps_;
  std::unique_ptr<Impl> impl_;
  std::thread thread_;
};

}  // namespace accel
