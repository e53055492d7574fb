// The tracker, SORT-like:
//  - Prediction: each track keeps a constant velocity of its box centre and size (pixels per second),
//    estimated from its matches and smoothed (half the old estimate, half the newest measurement); a track
//    unmatched for a while is predicted forward from its last match by the time elapsed since.
//  - Association, per label: every (track, detection) pair of the same label whose IoU between the
//    predicted box and the detection reaches iou_threshold is a candidate; candidates are taken greedily by
//    IoU, highest first (ties: older track, then earlier detection), each track and detection at most once.
//    Greedy is what SORT's Hungarian assignment gives in all but contrived overlaps, at a fraction of the
//    code; with per-label matching the candidate sets stay small.
//  - Life cycle: an unmatched detection starts a tentative track. A tentative track must be matched in
//    min_hits consecutive frames (counting the first) to be confirmed; missing one frame drops it (as SORT
//    and ByteTrack do), so one-frame false positives never become events. A confirmed track survives misses
//    until it has been unmatched for longer than max_age_s, then ends.
//  - Ids: given at confirmation, 1, 2, 3... per tracker, so the ids users see have no gaps.
#include "streams/stream_tracker.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <tuple>

namespace accel {
namespace {

struct Kinematics {
  float cx = 0, cy = 0, w = 0, h = 0;
};

Kinematics FromBox(const Box& b) {
  return {(b.x_min + b.x_max) / 2, (b.y_min + b.y_max) / 2, b.x_max - b.x_min, b.y_max - b.y_min};
}

Box ToBox(const Kinematics& k) {
  const float w = std::max(k.w, 1.f), h = std::max(k.h, 1.f);
  return {k.cx - w / 2, k.cy - h / 2, k.cx + w / 2, k.cy + h / 2};
}

// (x,y) lies on the segment (ax,ay)-(bx,by), within a thousandth of a pixel.
bool OnSegment(float ax, float ay, float bx, float by, float x, float y) {
  constexpr double kTolerance = 1e-3;
  const double dx = double(bx) - ax, dy = double(by) - ay;
  const double length = std::hypot(dx, dy);
  if (length < kTolerance) return std::hypot(double(x) - ax, double(y) - ay) <= kTolerance;
  const double distance = std::abs(dx * (double(y) - ay) - dy * (double(x) - ax)) / length;
  if (distance > kTolerance) return false;
  const double along = (dx * (double(x) - ax) + dy * (double(y) - ay)) / length;  // projection
  return along >= -kTolerance && along <= length + kTolerance;
}

}  // namespace

bool InZone(const Zone& zone, float x, float y) {
  const auto& p = zone.polygon;
  const size_t n = p.size();
  if (n < 3) return false;
  for (size_t i = 0, j = n - 1; i < n; j = i++)
    if (OnSegment(p[j].first, p[j].second, p[i].first, p[i].second, x, y)) return true;
  bool inside = false;
  for (size_t i = 0, j = n - 1; i < n; j = i++) {
    const float xi = p[i].first, yi = p[i].second, xj = p[j].first, yj = p[j].second;
    if ((yi > y) != (yj > y)) {
      const double x_cross = xi + (double(y) - yi) * (double(xj) - xi) / (double(yj) - yi);
      if (x < x_cross) inside = !inside;
    }
  }
  return inside;
}

struct StreamTracker::Impl {
  struct Track {
    std::uint64_t id = 0;  // 0 while tentative
    std::string label;
    Kinematics state;           // at last_seen
    Kinematics velocity;        // per second
    bool has_velocity = false;  // one match gives no velocity yet
    int hits = 0;
    float best_score = 0;
    double first_seen = 0;
    double last_seen = 0;
    double last_update_event = 0;
    Box box;  // the latest matched detection's box, as reported
    bool confirmed() const { return id != 0; }
    Box Predict(double t) const {
      if (!has_velocity) return box;
      const float dt = static_cast<float>(std::max(0.0, t - last_seen));
      return ToBox({state.cx + velocity.cx * dt, state.cy + velocity.cy * dt, state.w + velocity.w * dt,
                    state.h + velocity.h * dt});
    }
  };

  std::string stream;
  TrackerOptions options;
  std::vector<Zone> zones;
  std::vector<Track> tracks;  // in creation order
  std::uint64_t next_id = 1;
  std::uint64_t last_frame = 0;       // the latest frame Update saw: Flush's end events carry it
  std::set<std::string> labels_seen;  // labels that ever had a confirmed track: counts report them, even at 0

  StreamEvent MakeEvent(StreamEventType type, const Track& track, double now, std::uint64_t frame) const {
    StreamEvent e;
    e.type = type;
    e.stream = stream;
    e.track_id = track.id;
    e.label = track.label;
    e.score = track.best_score;
    e.box = track.box;
    const float foot_x = (track.box.x_min + track.box.x_max) / 2, foot_y = track.box.y_max;
    for (const auto& zone : zones)
      if (InZone(zone, foot_x, foot_y)) e.zones.push_back(zone.name);
    e.first_seen = track.first_seen;
    e.last_seen = track.last_seen;
    e.timestamp = now;
    e.frame = frame;
    return e;
  }

  void Match(Track& track, const Detection& d, double t) {
    const Kinematics measured = FromBox(d.box);
    const double dt = t - track.last_seen;
    if (dt > 1e-6) {
      const float inv = static_cast<float>(1.0 / dt);
      const Kinematics v{(measured.cx - track.state.cx) * inv, (measured.cy - track.state.cy) * inv,
                         (measured.w - track.state.w) * inv, (measured.h - track.state.h) * inv};
      if (track.has_velocity) {
        track.velocity = {(track.velocity.cx + v.cx) / 2, (track.velocity.cy + v.cy) / 2,
                          (track.velocity.w + v.w) / 2, (track.velocity.h + v.h) / 2};
      } else {
        track.velocity = v;
        track.has_velocity = true;
      }
    }
    track.state = measured;
    track.box = d.box;
    track.last_seen = std::max(track.last_seen, t);
    track.best_score = std::max(track.best_score, d.confidence);
    ++track.hits;
  }

  void StartTrack(const Detection& d, double t) {
    Track track;
    track.label = d.label;
    track.state = FromBox(d.box);
    track.box = d.box;
    track.hits = 1;
    track.best_score = d.confidence;
    track.first_seen = track.last_seen = t;
    tracks.push_back(std::move(track));
  }

  void Confirm(Track& track, double t, std::uint64_t frame, std::vector<StreamEvent>& events) {
    track.id = next_id++;
    track.last_update_event = t;
    labels_seen.insert(track.label);
    events.push_back(MakeEvent(StreamEventType::kStart, track, t, frame));
  }
};

StreamTracker::StreamTracker(std::string stream, TrackerOptions options, std::vector<Zone> zones)
    : impl_(std::make_unique<Impl>()) {
  impl_->stream = std::move(stream);
  impl_->options = options;
  impl_->options.min_hits = std::max(1, options.min_hits);
  impl_->zones = std::move(zones);
}

StreamTracker::~StreamTracker() = default;

std::vector<StreamEvent> StreamTracker::Update(const std::vector<Detection>& detections, double unix_time,
                                               std::uint64_t frame, std::vector<std::uint64_t>* track_ids) {
  Impl& s = *impl_;
  std::vector<StreamEvent> events;
  const double t = unix_time;
  s.last_frame = frame;

  // Candidate pairs: same label, IoU(predicted track box, detection) >= threshold.
  struct Candidate {
    float iou;
    size_t track;
    size_t detection;
  };
  std::vector<Candidate> candidates;
  std::vector<Box> predicted(s.tracks.size());
  for (size_t i = 0; i < s.tracks.size(); ++i) predicted[i] = s.tracks[i].Predict(t);
  for (size_t i = 0; i < s.tracks.size(); ++i) {
    for (size_t k = 0; k < detections.size(); ++k) {
      if (detections[k].label != s.tracks[i].label) continue;
      const float iou = IoU(predicted[i], detections[k].box);
      if (iou >= s.options.iou_threshold && iou > 0) candidates.push_back({iou, i, k});
    }
  }
  std::sort(candidates.begin(), candidates.end(), [](const Candidate& a, const Candidate& b) {
    return std::tie(b.iou, a.track, a.detection) < std::tie(a.iou, b.track, b.detection);
  });
  std::vector<bool> track_matched(s.tracks.size(), false), detection_matched(detections.size(), false);
  std::vector<std::uint64_t> ids(detections.size(), 0);
  for (const auto& c : candidates) {
    if (track_matched[c.track] || detection_matched[c.detection]) continue;
    track_matched[c.track] = detection_matched[c.detection] = true;
    Impl::Track& track = s.tracks[c.track];
    s.Match(track, detections[c.detection], t);
    if (!track.confirmed()) {
      if (track.hits >= s.options.min_hits) s.Confirm(track, t, frame, events);
    } else if (s.options.update_interval_s > 0 &&
               t - track.last_update_event >= s.options.update_interval_s) {
      track.last_update_event = t;
      events.push_back(s.MakeEvent(StreamEventType::kUpdate, track, t, frame));
    }
    if (track.confirmed()) ids[c.detection] = track.id;
  }

  // Unmatched tracks: tentative ones are dropped, confirmed ones end once older than max_age_s.
  std::vector<Impl::Track> kept;
  kept.reserve(s.tracks.size() + detections.size());
  for (size_t i = 0; i < s.tracks.size(); ++i) {
    Impl::Track& track = s.tracks[i];
    if (!track_matched[i]) {
      if (!track.confirmed()) continue;
      if (t - track.last_seen > s.options.max_age_s) {
        events.push_back(s.MakeEvent(StreamEventType::kEnd, track, t, frame));
        continue;
      }
    }
    kept.push_back(std::move(track));
  }
  s.tracks = std::move(kept);

  // Unmatched detections start tracks (confirmed at once when min_hits is 1).
  for (size_t k = 0; k < detections.size(); ++k) {
    if (detection_matched[k]) continue;
    s.StartTrack(detections[k], t);
    if (s.options.min_hits <= 1) {
      s.Confirm(s.tracks.back(), t, frame, events);
      ids[k] = s.tracks.back().id;
    }
  }
  if (track_ids) *track_ids = std::move(ids);
  return events;
}

StreamCounts StreamTracker::Counts(double unix_time) const {
  StreamCounts counts;
  counts.stream = impl_->stream;
  counts.timestamp = unix_time;
  for (const auto& label : impl_->labels_seen) counts.per_label[label] = 0;
  for (const auto& track : impl_->tracks)
    if (track.confirmed()) ++counts.per_label[track.label];
  return counts;
}

std::vector<StreamEvent> StreamTracker::Flush(double unix_time) {
  std::vector<StreamEvent> events;
  for (const auto& track : impl_->tracks)
    if (track.confirmed())
      events.push_back(impl_->MakeEvent(StreamEventType::kEnd, track, unix_time, impl_->last_frame));
  impl_->tracks.clear();
  return events;
}

}  // namespace accel
