#include "streams/stream_tracker.h"

#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>

namespace accel {
namespace {

Detection Det(const std::string& label, float x, float y, float w = 40, float h = 80,
              float confidence = 0.8f) {
  Detection d;
  d.label = label;
  d.confidence = confidence;
  d.box = {x, y, x + w, y + h};
  return d;
}

std::vector<StreamEvent> Of(const std::vector<StreamEvent>& events, StreamEventType type) {
  std::vector<StreamEvent> out;
  for (const auto& e : events)
    if (e.type == type) out.push_back(e);
  return out;
}

TrackerOptions Options(int min_hits = 1, double max_age_s = 1.0, double update_interval_s = 0) {
  TrackerOptions o;
  o.min_hits = min_hits;
  o.max_age_s = max_age_s;
  o.update_interval_s = update_interval_s;
  return o;
}

constexpr double kT0 = 1'800'000'000.0;  // Unix seconds
constexpr double kFrame = 0.2;           // 5 fps

TEST(StreamTracker, ObjectsMovingAcrossFramesKeepTheirIds) {
  StreamTracker tracker("door", Options(1), {});
  // Two people walking in opposite directions, far apart, 12 px per frame (their boxes are 40 wide).
  std::map<std::uint64_t, std::string> started;
  std::map<std::uint64_t, int> ends;
  for (int i = 0; i < 20; ++i) {
    auto events = tracker.Update({Det("person", 100 + 12.f * i, 100), Det("person", 600 - 12.f * i, 300)},
                                 kT0 + i * kFrame, i);
    for (const auto& e : Of(events, StreamEventType::kStart)) started[e.track_id] = e.label;
    EXPECT_TRUE(Of(events, StreamEventType::kEnd).empty()) << "frame " << i;
  }
  ASSERT_EQ(started.size(), 2u);
  EXPECT_EQ(started.begin()->first, 1u);
  EXPECT_EQ(started.rbegin()->first, 2u);
  auto counts = tracker.Counts(kT0 + 20 * kFrame);
  EXPECT_EQ(counts.per_label["person"], 2);
  auto ended = tracker.Flush(kT0 + 21 * kFrame);
  ASSERT_EQ(ended.size(), 2u);
  // The first person ended at the right: its id stayed with it across all 20 frames.
  for (const auto& e : ended) {
    if (e.track_id == 1) {
      EXPECT_FLOAT_EQ(e.box.x_min, 100 + 12.f * 19);
    }
    if (e.track_id == 2) {
      EXPECT_FLOAT_EQ(e.box.x_min, 600 - 12.f * 19);
    }
    EXPECT_DOUBLE_EQ(e.first_seen, kT0);
    EXPECT_DOUBLE_EQ(e.last_seen, kT0 + 19 * kFrame);
    EXPECT_EQ(e.frame, 19u);
  }
}

TEST(StreamTracker, AnObjectUnseenForAWhileIsFoundWhereItsMotionPredicts) {
  // 20 px per frame with a 40 px wide box; unseen for three frames, it reappears 80 px from where it was
  // last seen, where its own last box no longer overlaps: only the constant-velocity prediction keeps the id.
  StreamTracker tracker("road", Options(1, /*max_age_s=*/2.0), {});
  std::vector<StreamEvent> all;
  for (int i = 0; i < 12; ++i) {
    std::vector<Detection> seen;
    if (i < 5 || i > 7) seen.push_back(Det("car", 10 + 20.f * i, 200));
    auto events = tracker.Update(seen, kT0 + i * kFrame, i);
    all.insert(all.end(), events.begin(), events.end());
  }
  ASSERT_EQ(Of(all, StreamEventType::kStart).size(), 1u);
  EXPECT_TRUE(Of(all, StreamEventType::kEnd).empty());
  EXPECT_EQ(tracker.Counts(kT0 + 3).per_label["car"], 1);
  // The same without motion before the gap: the reappearance is a new object.
  StreamTracker still("road", Options(1, 2.0), {});
  still.Update({Det("car", 10, 200)}, kT0, 0);
  still.Update({Det("car", 10, 200)}, kT0 + 0.2, 1);
  auto events = still.Update({Det("car", 170, 200)}, kT0 + 1.6, 8);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].track_id, 2u);
}

TEST(StreamTracker, CrossingObjectsOfDifferentLabelsNeverSwap) {
  StreamTracker tracker("yard", Options(1), {});
  std::map<std::uint64_t, std::string> label_of;
  for (int i = 0; i < 21; ++i) {
    // A dog and a person cross at frame 10 on the same row: identical boxes at the crossing.
    auto events = tracker.Update({Det("dog", 100 + 10.f * i, 200), Det("person", 300 - 10.f * i, 200)},
                                 kT0 + i * kFrame, i);
    for (const auto& e : events) {
      if (e.type == StreamEventType::kStart) label_of[e.track_id] = e.label;
      EXPECT_NE(e.type, StreamEventType::kEnd);
    }
  }
  EXPECT_EQ(label_of.size(), 2u);
  for (const auto& e : tracker.Flush(kT0 + 5)) {
    EXPECT_EQ(e.label, label_of[e.track_id]);
    if (e.label == "dog") {
      EXPECT_FLOAT_EQ(e.box.x_min, 300);
    }
    if (e.label == "person") {
      EXPECT_FLOAT_EQ(e.box.x_min, 100);
    }
  }
}

TEST(StreamTracker, CrossingObjectsOfTheSameLabelKeepTheirIdsThroughMotion) {
  StreamTracker tracker("hall", Options(1), {});
  // Two people on slightly different rows cross; before and after the crossing, the one moving right keeps
  // id 1.
  for (int i = 0; i < 21; ++i)
    tracker.Update({Det("person", 100 + 10.f * i, 200), Det("person", 300 - 10.f * i, 215)}, kT0 + i * kFrame,
                   i);
  for (const auto& e : tracker.Flush(kT0 + 5)) {
    if (e.track_id == 1) {
      EXPECT_FLOAT_EQ(e.box.x_min, 300);
    }
    if (e.track_id == 2) {
      EXPECT_FLOAT_EQ(e.box.x_min, 100);
    }
  }
}

TEST(StreamTracker, MissedFramesWithinMaxAgeKeepTheId) {
  StreamTracker tracker("door", Options(1, /*max_age_s=*/1.0), {});
  std::vector<StreamEvent> all;
  auto add = [&](std::vector<StreamEvent> events) { all.insert(all.end(), events.begin(), events.end()); };
  int frame = 0;
  for (; frame < 5; ++frame)
    add(tracker.Update({Det("person", 100 + 5.f * frame, 100)}, kT0 + frame * kFrame, frame));
  // Three frames (0.6 s) without the person, then back where the motion says.
  for (; frame < 8; ++frame) add(tracker.Update({}, kT0 + frame * kFrame, frame));
  EXPECT_EQ(tracker.Counts(kT0 + frame * kFrame).per_label["person"], 1);  // still tracked while unseen
  for (; frame < 12; ++frame)
    add(tracker.Update({Det("person", 100 + 5.f * frame, 100)}, kT0 + frame * kFrame, frame));
  EXPECT_EQ(Of(all, StreamEventType::kStart).size(), 1u);
  EXPECT_TRUE(Of(all, StreamEventType::kEnd).empty());
}

TEST(StreamTracker, EndsAfterMaxAgeOnlyOnceAndOnlyForConfirmedTracks) {
  StreamTracker tracker("door", Options(3, /*max_age_s=*/0.9), {});
  tracker.Update({Det("person", 100, 100), Det("cat", 400, 400)}, kT0, 0);
  tracker.Update({Det("person", 102, 100)}, kT0 + 0.2, 1);  // the cat was seen once only: never confirmed
  auto events = tracker.Update({Det("person", 104, 100)}, kT0 + 0.4, 2);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].type, StreamEventType::kStart);
  EXPECT_EQ(events[0].label, "person");
  // Unseen from 0.4 s: still there at 1.2 s (0.8 s unseen), ended at 1.4 s (1.0 s unseen).
  std::vector<StreamEvent> ends;
  for (int i = 3; i <= 12; ++i) {
    auto e = Of(tracker.Update({}, kT0 + 0.2 * i, i), StreamEventType::kEnd);
    if (!e.empty()) {
      EXPECT_EQ(i, 7) << "ended at frame " << i;
    }
    ends.insert(ends.end(), e.begin(), e.end());
  }
  ASSERT_EQ(ends.size(), 1u);
  EXPECT_EQ(ends[0].label, "person");
  EXPECT_EQ(ends[0].track_id, 1u);
  EXPECT_DOUBLE_EQ(ends[0].last_seen, kT0 + 0.4);
  EXPECT_DOUBLE_EQ(ends[0].timestamp, kT0 + 0.2 * 7);
  EXPECT_EQ(tracker.Counts(kT0 + 3).per_label.at("person"), 0);  // listed, at zero
  EXPECT_TRUE(tracker.Flush(kT0 + 3).empty());
}

TEST(StreamTracker, MinHitsConfirmsOnlyConsecutiveMatches) {
  StreamTracker tracker("door", Options(3), {});
  EXPECT_TRUE(tracker.Update({Det("person", 100, 100)}, kT0, 0).empty());
  EXPECT_TRUE(tracker.Update({Det("person", 101, 100)}, kT0 + 0.2, 1).empty());
  EXPECT_TRUE(tracker.Update({}, kT0 + 0.4, 2).empty());  // a miss drops the tentative track
  EXPECT_TRUE(tracker.Update({Det("person", 102, 100)}, kT0 + 0.6, 3).empty());
  EXPECT_TRUE(tracker.Update({Det("person", 103, 100)}, kT0 + 0.8, 4).empty());
  EXPECT_TRUE(tracker.Counts(kT0 + 0.8).per_label.empty());
  auto events = tracker.Update({Det("person", 104, 100, 40, 80, 0.9f)}, kT0 + 1.0, 5);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].type, StreamEventType::kStart);
  EXPECT_EQ(events[0].track_id, 1u);  // ids are given at confirmation: no gaps for dropped tentative tracks
  EXPECT_DOUBLE_EQ(events[0].first_seen, kT0 + 0.6);
  EXPECT_FLOAT_EQ(events[0].score, 0.9f);
  EXPECT_EQ(events[0].frame, 5u);
  EXPECT_EQ(tracker.Counts(kT0 + 1).per_label.at("person"), 1);
}

TEST(StreamTracker, TrackIdsNameEachDetectionsConfirmedTrack) {
  StreamTracker tracker("door", Options(/*min_hits=*/2), {});
  std::vector<std::uint64_t> ids = {99};
  // Frame 0: two people, both tentative (min_hits 2): no ids yet.
  tracker.Update({Det("person", 100, 100), Det("person", 600, 300)}, kT0, 0, &ids);
  EXPECT_EQ(ids, (std::vector<std::uint64_t>{0, 0}));
  // Frame 1, detections in the other order, plus a car seen for the first time: both people are
  // confirmed now, and each id is reported at the detection's own position.
  auto events = tracker.Update({Det("car", 300, 500), Det("person", 612, 300), Det("person", 112, 100)},
                               kT0 + kFrame, 1, &ids);
  ASSERT_EQ(Of(events, StreamEventType::kStart).size(), 2u);
  std::map<float, std::uint64_t> started_at;  // x_min of the start event's box -> id
  for (const auto& e : Of(events, StreamEventType::kStart)) started_at[e.box.x_min] = e.track_id;
  ASSERT_EQ(ids.size(), 3u);
  EXPECT_EQ(ids[0], 0u);  // the car: tentative
  EXPECT_EQ(ids[1], started_at[612]);
  EXPECT_EQ(ids[2], started_at[112]);
  EXPECT_NE(ids[1], ids[2]);
  // Frame 2: the second person is missed (its track lives on within max_age), a new one appears far
  // away; the first person and the car (confirmed now) keep / get their ids.
  events = tracker.Update({Det("person", 124, 100), Det("person", 900, 50), Det("car", 300, 500)},
                          kT0 + 2 * kFrame, 2, &ids);
  ASSERT_EQ(ids.size(), 3u);
  EXPECT_EQ(ids[0], started_at[112]);
  EXPECT_EQ(ids[1], 0u);  // the new person: tentative
  ASSERT_EQ(Of(events, StreamEventType::kStart).size(), 1u);
  EXPECT_EQ(ids[2], Of(events, StreamEventType::kStart)[0].track_id);
  EXPECT_EQ(Of(events, StreamEventType::kStart)[0].label, "car");
  // No detections: an empty vector; without the out-vector Update works as before.
  tracker.Update({}, kT0 + 3 * kFrame, 3, &ids);
  EXPECT_TRUE(ids.empty());
  EXPECT_TRUE(tracker.Update({Det("person", 136, 100)}, kT0 + 4 * kFrame, 4).empty());
}

TEST(StreamTracker, TrackIdsWithMinHitsOneAreGivenAtOnce) {
  StreamTracker tracker("door", Options(1), {});
  std::vector<std::uint64_t> ids;
  auto events = tracker.Update({Det("person", 100, 100), Det("dog", 400, 100)}, kT0, 0, &ids);
  ASSERT_EQ(events.size(), 2u);
  ASSERT_EQ(ids.size(), 2u);
  EXPECT_EQ(ids[0], events[0].label == "person" ? events[0].track_id : events[1].track_id);
  EXPECT_EQ(ids[1], events[0].label == "dog" ? events[0].track_id : events[1].track_id);
}

TEST(StreamTracker, ScoreIsTheBestConfidenceSeen) {
  StreamTracker tracker("door", Options(1, 1.0, 0.1), {});
  tracker.Update({Det("person", 100, 100, 40, 80, 0.5f)}, kT0, 0);
  auto e1 = tracker.Update({Det("person", 101, 100, 40, 80, 0.95f)}, kT0 + 0.2, 1);
  auto e2 = tracker.Update({Det("person", 102, 100, 40, 80, 0.6f)}, kT0 + 0.4, 2);
  ASSERT_EQ(e1.size(), 1u);
  ASSERT_EQ(e2.size(), 1u);
  EXPECT_FLOAT_EQ(e1[0].score, 0.95f);
  EXPECT_FLOAT_EQ(e2[0].score, 0.95f);
}

TEST(StreamTracker, UpdateEventsAreRateBounded) {
  StreamTracker tracker("door", Options(1, 2.0, /*update_interval_s=*/1.0), {});
  int updates = 0;
  // 5 fps for 5 s: one update per second after the start (at 1, 2, 3, 4 s).
  for (int i = 0; i <= 25; ++i)
    updates +=
        Of(tracker.Update({Det("person", 100 + i, 100)}, kT0 + i * kFrame, i), StreamEventType::kUpdate)
            .size();
  EXPECT_EQ(updates, 5);  // at 1.0, 2.0, 3.0, 4.0 and 5.0 s
  StreamTracker quiet("door", Options(1, 2.0, 0), {});
  for (int i = 0; i <= 25; ++i)
    EXPECT_TRUE(Of(quiet.Update({Det("person", 100 + i, 100)}, kT0 + i * kFrame, i), StreamEventType::kUpdate)
                    .empty());
}

TEST(StreamTracker, CountsPerLabel) {
  StreamTracker tracker("street", Options(2), {});
  std::vector<Detection> frame = {Det("person", 10, 10), Det("person", 200, 10),
                                  Det("car", 400, 300, 120, 60)};
  tracker.Update(frame, kT0, 0);
  EXPECT_TRUE(tracker.Counts(kT0).per_label.empty());  // none confirmed yet
  tracker.Update(frame, kT0 + 0.2, 1);
  StreamCounts counts = tracker.Counts(kT0 + 0.2);
  EXPECT_EQ(counts.stream, "street");
  EXPECT_DOUBLE_EQ(counts.timestamp, kT0 + 0.2);
  EXPECT_EQ(counts.per_label, (std::map<std::string, int>{{"car", 1}, {"person", 2}}));
  auto j = nlohmann::json::parse(StreamCountsJson(counts));
  EXPECT_EQ(j["type"], "counts");
  EXPECT_EQ(j["counts"]["person"], 2);
  EXPECT_EQ(j["counts"]["car"], 1);
}

TEST(StreamTracker, FlushEndsEveryConfirmedTrackAndIdsKeepIncreasing) {
  StreamTracker tracker("door", Options(2), {});
  tracker.Update({Det("person", 10, 10), Det("dog", 300, 10)}, kT0, 7);
  tracker.Update({Det("person", 12, 10), Det("dog", 300, 10), Det("cat", 600, 10)}, kT0 + 0.2, 8);
  auto ended = tracker.Flush(kT0 + 0.3);
  ASSERT_EQ(ended.size(), 2u);  // the cat was tentative
  for (const auto& e : ended) {
    EXPECT_EQ(e.type, StreamEventType::kEnd);
    EXPECT_DOUBLE_EQ(e.timestamp, kT0 + 0.3);
    EXPECT_EQ(e.frame, 8u);
  }
  EXPECT_TRUE(tracker.Flush(kT0 + 0.4).empty());
  EXPECT_EQ(tracker.Counts(kT0 + 0.4).per_label, (std::map<std::string, int>{{"dog", 0}, {"person", 0}}));
  tracker.Update({Det("person", 10, 10)}, kT0 + 1, 9);
  auto events = tracker.Update({Det("person", 10, 10)}, kT0 + 1.2, 10);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].track_id, 3u);
}

TEST(StreamTracker, EventsNameTheZonesOfTheBoxBottomCentre) {
  Zone porch{"porch", {{0, 0}, {200, 0}, {200, 200}, {0, 200}}};
  Zone drive{"drive", {{150, 150}, {400, 150}, {400, 400}, {150, 400}}};
  StreamTracker tracker("front", Options(1), {porch, drive});
  // Bottom centre (120, 180): in the porch only; the box itself reaches into the drive.
  auto events = tracker.Update({Det("person", 100, 100, 40, 80)}, kT0, 0);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].zones, std::vector<std::string>{"porch"});
  // Bottom centre (170, 190): in both.
  auto dog = tracker.Update({Det("dog", 150, 110, 40, 80)}, kT0 + 0.2, 1);
  ASSERT_EQ(dog.size(), 1u);
  EXPECT_EQ(dog[0].zones, (std::vector<std::string>{"porch", "drive"}));
  // Bottom centre (520, 580): in none.
  auto none = tracker.Update({Det("car", 500, 500, 40, 80)}, kT0 + 0.4, 2);
  ASSERT_EQ(none.size(), 1u);
  EXPECT_TRUE(none[0].zones.empty());
}

TEST(InZone, InsideOutsideAndOnTheEdge) {
  Zone square{"square", {{10, 10}, {110, 10}, {110, 110}, {10, 110}}};
  EXPECT_TRUE(InZone(square, 50, 50));
  EXPECT_FALSE(InZone(square, 5, 50));
  EXPECT_FALSE(InZone(square, 50, 111));
  EXPECT_FALSE(InZone(square, 200, 200));
  // Edges and corners count as inside.
  EXPECT_TRUE(InZone(square, 10, 50));
  EXPECT_TRUE(InZone(square, 110, 50));
  EXPECT_TRUE(InZone(square, 50, 110));
  EXPECT_TRUE(InZone(square, 10, 10));
  EXPECT_TRUE(InZone(square, 110, 110));
  Zone triangle{"triangle", {{0, 0}, {100, 0}, {0, 100}}};
  EXPECT_TRUE(InZone(triangle, 50, 50));  // on the slanted edge
  EXPECT_TRUE(InZone(triangle, 20, 20));
  EXPECT_FALSE(InZone(triangle, 51, 51));
  Zone degenerate{"line", {{0, 0}, {100, 100}}};
  EXPECT_FALSE(InZone(degenerate, 50, 50));
}

TEST(InZone, ConcavePolygon) {
  // A U shape: two arms (x 0..30 and 70..100) joined by a base (y 70..100); the notch between the arms is
  // outside.
  Zone u{"u", {{0, 0}, {30, 0}, {30, 70}, {70, 70}, {70, 0}, {100, 0}, {100, 100}, {0, 100}}};
  EXPECT_TRUE(InZone(u, 15, 20));   // left arm
  EXPECT_TRUE(InZone(u, 85, 20));   // right arm
  EXPECT_TRUE(InZone(u, 50, 85));   // base
  EXPECT_FALSE(InZone(u, 50, 20));  // the notch
  EXPECT_FALSE(InZone(u, 50, 69));
  EXPECT_TRUE(InZone(u, 50, 70));  // the notch's bottom edge
  // A ray from the notch crosses the right arm twice: still outside.
  EXPECT_FALSE(InZone(u, 40, 30));
  EXPECT_FALSE(InZone(u, 150, 30));
}

TEST(StreamEventJson, HasEveryFieldInTheDocumentedForm) {
  StreamEvent e;
  e.type = StreamEventType::kEnd;
  e.stream = "front door";
  e.track_id = 42;
  e.label = "person";
  e.score = 0.87654f;
  e.box = {10.04f, 20.06f, 110.5f, 220.0f};
  e.zones = {"porch"};
  e.first_seen = 1800000000.1234;
  e.last_seen = 1800000005.5;
  e.timestamp = 1800000007.5;
  e.frame = 1234;
  e.snapshot = "/ai/streams/front%20door/snapshot.jpg";
  auto j = nlohmann::json::parse(StreamEventJson(e));
  EXPECT_EQ(j["type"], "end");
  EXPECT_EQ(j["stream"], "front door");
  EXPECT_EQ(j["track_id"], 42);
  EXPECT_EQ(j["label"], "person");
  EXPECT_DOUBLE_EQ(j["score"].get<double>(), 0.8765);
  EXPECT_DOUBLE_EQ(j["box"]["x_min"].get<double>(), 10.0);
  EXPECT_DOUBLE_EQ(j["box"]["y_min"].get<double>(), 20.1);
  EXPECT_DOUBLE_EQ(j["box"]["x_max"].get<double>(), 110.5);
  EXPECT_DOUBLE_EQ(j["box"]["y_max"].get<double>(), 220.0);
  EXPECT_EQ(j["zones"], nlohmann::json::array({"porch"}));
  EXPECT_DOUBLE_EQ(j["first_seen"].get<double>(), 1800000000.123);
  EXPECT_DOUBLE_EQ(j["last_seen"].get<double>(), 1800000005.5);
  EXPECT_DOUBLE_EQ(j["timestamp"].get<double>(), 1800000007.5);
  EXPECT_EQ(j["frame"], 1234);
  EXPECT_EQ(j["snapshot"], "/ai/streams/front%20door/snapshot.jpg");
  EXPECT_EQ(j.size(), 12u);
  EXPECT_STREQ(StreamEventTypeName(StreamEventType::kStart), "start");
  EXPECT_STREQ(StreamEventTypeName(StreamEventType::kUpdate), "update");
}

TEST(StreamEventJson, InvalidUtf8InNamesDoesNotThrow) {
  StreamEvent e;
  e.stream = std::string("cam\xff", 4);
  e.label = "person";
  EXPECT_NO_THROW(nlohmann::json::parse(StreamEventJson(e)));
}

}  // namespace
}  // namespace accel
