// StreamManager: the service's named streams. Adds, replaces and removes them at run time (each a
// StreamRunner with its own threads), reads the streams file at start and writes every change made through
// the API back to it atomically (temporary file + rename, mode 0600: URLs may hold credentials), so that
// streams survive a restart. Thread-safe.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/status.h"
#include "metrics/metrics.h"
#include "streams/change_workers.h"
#include "streams/event_sink.h"
#include "streams/stream_config.h"
#include "streams/stream_runner.h"

namespace accel {

class DetectionPipeline;
class Scheduler;

struct StreamManagerOptions {
  std::string streams_file;  // "": streams live only until the service stops
  DetectionPipeline* pipeline = nullptr;
  Scheduler* scheduler = nullptr;    // model lookups (exists, input size, labels)
  std::vector<std::string> engines;  // engine kinds a stream may name besides "auto"
  // Outputs. `sse` carries every stream; `mqtt` and `redis` (null when not configured) the streams that
  // ask for them in `outputs`.
  std::shared_ptr<EventSink> sse;
  std::shared_ptr<EventSink> mqtt;
  std::shared_ptr<EventSink> redis;
  MetricRegistry* metrics = nullptr;  // per-stream metrics registered here (null: none)
};

struct StreamInfo {
  StreamConfig config;
  StreamStats stats;
};

class StreamManager {
 public:
  explicit StreamManager(StreamManagerOptions options);
  ~StreamManager();  // StopAll()

  // Reads the streams file (a missing file is an empty list, and is created at the first change) and
  // starts its streams. An invalid file or entry is an error naming it; nothing is started then.
  Status Start();
  // Validates and starts a stream. `replace` false: AlreadyExists when the name is taken (POST, 409); true:
  // the stream of that name is stopped and replaced (PUT), NotFound when there is none.
  Status Add(StreamConfig config, bool replace);
  Status Remove(const std::string& name);
  std::vector<StreamInfo> List() const;
  std::optional<StreamInfo> Get(const std::string& name) const;
  // The configured outputs (sse, and mqtt / redis when configured) with their statistics: what was
  // published, dropped, what waits now, whether connected, the last error.
  std::vector<std::pair<std::string, EventSinkStats>> OutputStats() const;
  // NotFound for an unknown stream; a null pointer when it has no snapshot yet.
  StatusOr<std::shared_ptr<const std::string>> Snapshot(const std::string& name) const;
  // Runs a change (a closure calling Add or Remove and answering its client) on a thread the manager owns,
  // so that it never outlives the manager: StopAll waits for the changes still running and refuses new
  // ones (Unavailable); ResourceExhausted while kMaxChangesRunning are running. `change` is not run when
  // refused.
  Status RunChange(std::function<void()> change);
  size_t changes_running() const { return change_workers_.running(); }
  // Waits for the changes running (RunChange), then stops every stream (in parallel; each within ~1 s).
  // Idempotent; the file is left as it is.
  void StopAll();

  static constexpr size_t kMaxChangesRunning = 16;

  const StreamValidation& validation() const { return validation_; }

 private:
  std::shared_ptr<StreamRunner> MakeRunner(const StreamConfig& config) const;
  Status Check(const StreamConfig& config) const;
  // Writes the current streams to the file (caller holds change_mu_).
  Status Persist();
  void CollectMetrics(ExpositionWriter& out) const;

  StreamManagerOptions options_;
  StreamValidation validation_;
  HistogramFamily* event_latency_ = nullptr;
  HistogramFamily* detection_latency_ = nullptr;
  std::mutex change_mu_;   // one change (add/replace/remove + file write) at a time
  mutable std::mutex mu_;  // guards streams_
  std::map<std::string, std::shared_ptr<StreamRunner>> streams_;
  // The metrics collector outlives the manager (a registry cannot drop one): it reaches the manager
  // through this link, which the destructor cuts.
  struct CollectorLink {
    std::mutex mu;
    const StreamManager* manager = nullptr;
  };
  std::shared_ptr<CollectorLink> link_;
  bool stopped_ = false;
  ChangeWorkers change_workers_{kMaxChangesRunning};
};

}  // namespace accel
