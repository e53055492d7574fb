// Registered POSIX shared memory regions for the KServe/Triton system shared memory extension: a same-host
// client creates a shm object, registers (name, key, offset, byte_size) with the server, and then ModelInfer
// inputs and outputs name the region instead of carrying their bytes through the socket.
//
// Security (the gRPC front end adds the peer rule: only clients on its Unix socket, docs/kserve.md):
//   - only regions registered here by name are ever read or written;
//   - `key` must be a plain POSIX shm name ("/name", no other '/'); the object is opened with
//     shm_open(O_RDWR) and must be a regular file on a tmpfs (what shm_open makes in /dev/shm) owned by the
//     server's effective uid: an object another user created, even one the server's user could open, is
//     refused. Objects are meant to be created by the client for this purpose, and Accel writes outputs
//     into them;
//   - at most Options::max_regions regions and Options::max_total_bytes of them are registered at a time;
//   - every offset/size is checked for overflow and against the object's size (fstat) at registration and
//     against the region at each use.
//
// Thread-safe. A Mapping keeps its region mapped while it is held, so an Unregister racing an inference only
// takes effect (munmap) once that inference has let go of it; the caps count a region until Unregister.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/status.h"

namespace accel {

class SharedMemoryRegistry {
 public:
  struct RegionInfo {
    std::string name;
    std::string key;
    uint64_t offset = 0;
    uint64_t byte_size = 0;
  };

  // A window [offset, offset + size) of a registered region, mapped read-write while this is held.
  class Mapping {
   public:
    uint8_t* data() const { return data_; }
    size_t size() const { return size_; }

   private:
    friend class SharedMemoryRegistry;
    std::shared_ptr<const void> region_;  // keeps the mmap alive
    uint8_t* data_ = nullptr;
    size_t size_ = 0;
  };

  struct Options {
    size_t max_regions = 64;
    uint64_t max_total_bytes = uint64_t{1} << 30;  // sum of the regions' byte_size
  };

  SharedMemoryRegistry() = default;
  explicit SharedMemoryRegistry(Options options) : options_(options) {}
  ~SharedMemoryRegistry();  // unmaps everything
  SharedMemoryRegistry(const SharedMemoryRegistry&) = delete;
  SharedMemoryRegistry& operator=(const SharedMemoryRegistry&) = delete;

  // Maps [offset, offset + byte_size) of the POSIX shm object `key`. FailedPrecondition only when `name` is
  // already registered (the gRPC front end answers ALREADY_EXISTS); ResourceExhausted when the region would
  // pass max_regions or max_total_bytes; InvalidArgument for an empty name, a key that is not "/name", a
  // zero byte_size, an overflowing range, an object smaller than offset + byte_size, or an object that is
  // not a regular tmpfs file owned by the server's effective uid; NotFound when the object cannot be opened.
  Status Register(const std::string& name, const std::string& key, uint64_t offset, uint64_t byte_size);
  // Empty name: every region. NotFound for an unknown name.
  Status Unregister(const std::string& name);
  void UnregisterAll();
  // Empty name: every region, sorted by name. NotFound for an unknown name.
  StatusOr<std::vector<RegionInfo>> List(const std::string& name) const;
  // [offset, offset + size) within region `name`. NotFound for an unknown name; InvalidArgument when the
  // window does not lie inside the region (overflow-safe).
  StatusOr<Mapping> Acquire(const std::string& name, uint64_t offset, uint64_t size) const;

 private:
  struct Region;
  // Whether one more region of `byte_size` fits the caps; the error otherwise. Caller holds mu_.
  Status CheckCapsLocked(const std::string& name, uint64_t byte_size) const;

  const Options options_{};
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<Region>> regions_;
  uint64_t total_bytes_ = 0;  // sum of the registered regions' byte_size; guarded by mu_
};

}  // namespace accel
