#include "cache/memory_cache.h"

namespace accel {

MemoryCache::MemoryCache(Options options) : options_(options) {}

void MemoryCache::EraseLocked(std::list<Entry>::iterator it) {
  bytes_ -= it->bytes;
  index_.erase(it->key);
  order_.erase(it);
}

std::shared_ptr<const CachedResult> MemoryCache::Get(const CacheKey& key) {
  std::lock_guard lock(mu_);
  auto found = index_.find(key);
  if (found == index_.end()) return nullptr;
  auto it = found->second;
  if (options_.ttl.count() > 0 && options_.clock->Now() - it->stored >= options_.ttl) {
    EraseLocked(it);
    return nullptr;
  }
  order_.splice(order_.begin(), order_, it);
  return it->value;
}

size_t MemoryCache::Put(const CacheKey& key, std::shared_ptr<const CachedResult> value) {
  if (!value) return 0;
  const size_t bytes = value->ByteSize() + kEntryOverhead;
  std::lock_guard lock(mu_);
  if (auto found = index_.find(key); found != index_.end()) EraseLocked(found->second);
  if (bytes > options_.max_bytes) return 0;
  size_t evicted = 0;
  while (!order_.empty() && bytes_ + bytes > options_.max_bytes) {
    EraseLocked(std::prev(order_.end()));
    ++evicted;
  }
  order_.push_front(Entry{key, std::move(value), bytes, options_.clock->Now()});
  index_[key] = order_.begin();
  bytes_ += bytes;
  evictions_ += evicted;
  return evicted;
}

MemoryCache::Stats MemoryCache::stats() const {
  std::lock_guard lock(mu_);
  return {bytes_, index_.size(), evictions_};
}

}  // namespace accel
