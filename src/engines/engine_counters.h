// EngineCounters: the work figures of EngineStats (batches_executed, items_executed, failures), kept the
// same way by every engine: SyncEngine for cpu, nvidia and sim, and the hailo engine.
//
// Threading: any thread, concurrently; lock-free.
#pragma once

#include <atomic>
#include <cstdint>

#include "engines/engine.h"

namespace accel {

class EngineCounters {
 public:
  // One batch of client work reached its end on the device: `items_ok` of its items got outputs, and
  // `failed` says whether the device or the engine failed it (or any of its items). Not for work that never
  // reached the device (refused, dropped at shutdown) or for items failed for their own input.
  void RecordBatch(uint64_t items_ok, bool failed) {
    batches_.fetch_add(1, std::memory_order_relaxed);
    items_.fetch_add(items_ok, std::memory_order_relaxed);
    if (failed) failures_.fetch_add(1, std::memory_order_relaxed);
  }

  // Sets the three work figures of `stats`; leaves the others alone.
  void Fill(EngineStats& stats) const {
    stats.batches_executed = batches_.load(std::memory_order_relaxed);
    stats.items_executed = items_.load(std::memory_order_relaxed);
    stats.failures = failures_.load(std::memory_order_relaxed);
  }

 private:
  std::atomic<uint64_t> batches_{0};
  std::atomic<uint64_t> items_{0};
  std::atomic<uint64_t> failures_{0};
};

}  // namespace accel
