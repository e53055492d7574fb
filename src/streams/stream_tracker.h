// Tracking for one stream: associates each sampled frame's detections with tracks (IoU association with a
// constant-velocity prediction, in the manner of SORT/ByteTrack) so that a track id stays with an object
// across frames, and turns track changes into events (stream_event.h). Not thread-safe: one stream runner
// owns one tracker.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "streams/stream_event.h"
#include "vision/detection.h"

namespace accel {

// A named polygon in frame pixels. An object is in a zone when the bottom centre of its box is inside.
struct Zone {
  std::string name;
  std::vector<std::pair<float, float>> polygon;  // (x, y), at least 3 points, closed implicitly
};

struct TrackerOptions {
  float iou_threshold = 0.3f;    // minimum IoU between a predicted track box and a detection to match
  int min_hits = 3;              // frames a track must be matched in before it is confirmed (start event)
  double max_age_s = 2.0;        // a track unmatched for longer ends (end event for confirmed tracks)
  double update_interval_s = 0;  // >0: at most one update event per track per interval; 0: none
};

class StreamTracker {
 public:
  StreamTracker(std::string stream, TrackerOptions options, std::vector<Zone> zones);
  ~StreamTracker();

  // One sampled frame's detections (already filtered by threshold and targets), seen at `unix_time`
  // (seconds). Returns the events this frame made: start for tracks confirmed now, update (rate-bounded),
  // end for confirmed tracks that aged out. Labels never change within a track: detections only match
  // tracks of the same label. `track_ids` (optional): set to one id per detection, in the same order: the
  // confirmed track the detection belongs to after this frame, 0 when it belongs to none (it started or
  // fed a track not confirmed yet).
  std::vector<StreamEvent> Update(const std::vector<Detection>& detections, double unix_time,
                                  std::uint64_t frame, std::vector<std::uint64_t>* track_ids = nullptr);
  // Confirmed tracks per label now. Every label that has had a confirmed track in this tracker is listed,
  // at 0 when none is tracked now, so that outputs publish the drop back to zero.
  StreamCounts Counts(double unix_time) const;
  // End events for every confirmed track (the stream stops or is removed); the tracker is empty after.
  // Track ids keep increasing across a Flush (a stream that reconnects keeps its tracker and its ids).
  std::vector<StreamEvent> Flush(double unix_time);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Point-in-polygon (even-odd rule); points on an edge count as inside.
bool InZone(const Zone& zone, float x, float y);

}  // namespace accel
