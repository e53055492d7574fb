// Registered POSIX shared memory regions for the KServe/Triton system shared memory extension: a same-host
// client creates a shm object, registers (name, key, offset, byte_size) with the server, and then ModelInfer
// inputs and outputs name the region instead of carrying their bytes through the socket.
//
// Security: only regions registered here by name are ever read or written; the object `key` is opened with
// shm_open(O_RDWR) under the *server process's* user and permissions, so any client that can reach the
// control RPCs can make the server map any shm object that user may open (/dev/shm). Expose the gRPC port
// accordingly (e.g. only a Unix socket). Every offset/size is checked for overflow and against the object's
// size (fstat) at registration and against the region at each use.
//
// Thread-safe. A Mapping keeps its region mapped while it is held, so an Unregister racing an inference only
// takes effect (munmap) once that inference has let go of it.
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

  SharedMemoryRegistry() = default;
  ~SharedMemoryRegistry();  // unmaps everything
  SharedMemoryRegistry(const SharedMemoryRegistry&) = delete;
  SharedMemoryRegistry& operator=(const SharedMemoryRegistry&) = delete;

  // Maps [offset, offset + byte_size) of the POSIX shm object `key`. FailedPrecondition only when `name` is
  // already registered (the gRPC front end answers ALREADY_EXISTS); InvalidArgument for an empty name or key,
  // a zero byte_size, an overflowing range, or an object smaller than offset + byte_size; NotFound when the
  // object cannot be opened.
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
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<Region>> regions_;
};

}  // namespace accel
