#include "api/shared_memory_registry.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <limits>

#include "core/logging.h"

namespace accel {

struct SharedMemoryRegistry::Region {
  RegionInfo info;
  void* map_base = nullptr;  // page-aligned start of the mapping
  size_t map_length = 0;
  uint8_t* data = nullptr;  // info.offset within the object
  ~Region() {
    if (map_base) munmap(map_base, map_length);
  }
};

namespace {

// The checks on the opened object (see the header); the error names what is wrong.
Status CheckObject(int fd, const std::string& key) {
  struct stat st {};
  if (fstat(fd, &st) != 0)
    return Internal("cannot fstat shared memory key '" + key + "': " + std::strerror(errno));
  if (!S_ISREG(st.st_mode))
    return InvalidArgument("shared memory key '" + key + "' is not a regular shared memory object");
  struct statfs fs {};
  if (fstatfs(fd, &fs) != 0 || fs.f_type != TMPFS_MAGIC)
    return InvalidArgument("shared memory key '" + key +
                           "' is not on a tmpfs: not a POSIX shared memory object");
  if (st.st_uid != geteuid())
    return InvalidArgument("shared memory key '" + key + "' is owned by uid " + std::to_string(st.st_uid) +
                           "; Accel maps only objects owned by its own user (uid " +
                           std::to_string(geteuid()) + "), created by the client for this purpose");
  return Status::Ok();
}

}  // namespace

SharedMemoryRegistry::~SharedMemoryRegistry() { UnregisterAll(); }

Status SharedMemoryRegistry::CheckCapsLocked(const std::string& name, uint64_t byte_size) const {
  if (regions_.size() >= options_.max_regions)
    return ResourceExhausted("cannot register shared memory region '" + name +
                             "': " + std::to_string(options_.max_regions) +
                             " regions are registered, the most allowed (--grpc-shm-max-regions)");
  if (byte_size > options_.max_total_bytes - total_bytes_)
    return ResourceExhausted("cannot register shared memory region '" + name + "' of " +
                             std::to_string(byte_size) + " bytes: " + std::to_string(total_bytes_) + " of " +
                             std::to_string(options_.max_total_bytes) +
                             " bytes are registered already (--grpc-shm-max-mb)");
  return Status::Ok();
}

Status SharedMemoryRegistry::Register(const std::string& name, const std::string& key, uint64_t offset,
                                      uint64_t byte_size) {
  if (name.empty()) return InvalidArgument("shared memory region name is empty");
  if (key.size() < 2 || key[0] != '/' || key.find('/', 1) != std::string::npos || key == "/." || key == "/..")
    return InvalidArgument("shared memory key '" + key + "' is not a POSIX shm name of the form /name");
  if (byte_size == 0) return InvalidArgument("shared memory region '" + name + "' has byte_size 0");
  constexpr uint64_t kMaxOff = static_cast<uint64_t>(std::numeric_limits<off_t>::max());
  if (offset > kMaxOff || byte_size > kMaxOff - offset || byte_size > std::numeric_limits<size_t>::max())
    return InvalidArgument("shared memory region '" + name + "': offset + byte_size overflows");
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (regions_.count(name)) return FailedPrecondition("shared memory region '" + name + "' already exists");
    ACCEL_RETURN_IF_ERROR(CheckCapsLocked(name, byte_size));
  }
  // O_NOFOLLOW: a symbolic link planted in /dev/shm is not followed (glibc adds it too; said here).
  const int fd = shm_open(key.c_str(), O_RDWR | O_NOFOLLOW, 0);
  if (fd < 0)
    return NotFound("cannot open shared memory key '" + key + "' for region '" + name +
                    "': " + std::strerror(errno));
  if (Status checked = CheckObject(fd, key); !checked.ok()) {
    close(fd);
    return checked;
  }
  struct stat st {};
  if (fstat(fd, &st) != 0 || st.st_size < 0 || static_cast<uint64_t>(st.st_size) < offset + byte_size) {
    close(fd);
    return InvalidArgument("shared memory key '" + key + "' is smaller than offset + byte_size (" +
                           std::to_string(offset) + " + " + std::to_string(byte_size) + ")");
  }
  const uint64_t page = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  const uint64_t map_offset = offset - offset % page;
  const size_t map_length = static_cast<size_t>(byte_size + (offset - map_offset));
  void* base =
      mmap(nullptr, map_length, PROT_READ | PROT_WRITE, MAP_SHARED, fd, static_cast<off_t>(map_offset));
  const int map_errno = errno;
  close(fd);  // the mapping keeps the object alive
  if (base == MAP_FAILED)
    return Internal("cannot map shared memory key '" + key + "': " + std::strerror(map_errno));
  auto region = std::make_shared<Region>();
  region->info = {name, key, offset, byte_size};
  region->map_base = base;
  region->map_length = map_length;
  region->data = static_cast<uint8_t*>(base) + (offset - map_offset);
  std::lock_guard<std::mutex> lock(mu_);
  // Checked again: another Register may have won while we mapped (ours is then unmapped with `region`).
  if (regions_.count(name)) return FailedPrecondition("shared memory region '" + name + "' already exists");
  ACCEL_RETURN_IF_ERROR(CheckCapsLocked(name, byte_size));
  regions_.emplace(name, std::move(region));
  total_bytes_ += byte_size;
  ACCEL_LOG(kInfo, "kserve") << "registered system shared memory region '" << name << "' (key '" << key
                             << "', offset " << offset << ", " << byte_size << " bytes)";
  return Status::Ok();
}

Status SharedMemoryRegistry::Unregister(const std::string& name) {
  if (name.empty()) {
    UnregisterAll();
    return Status::Ok();
  }
  std::shared_ptr<Region> gone;  // unmapped outside the lock (unless a Mapping still holds it)
  std::lock_guard<std::mutex> lock(mu_);
  auto it = regions_.find(name);
  if (it == regions_.end()) return NotFound("unknown shared memory region '" + name + "'");
  gone = std::move(it->second);
  total_bytes_ -= gone->info.byte_size;
  regions_.erase(it);
  return Status::Ok();
}

void SharedMemoryRegistry::UnregisterAll() {
  std::map<std::string, std::shared_ptr<Region>> gone;
  std::lock_guard<std::mutex> lock(mu_);
  gone.swap(regions_);
  total_bytes_ = 0;
}

StatusOr<std::vector<SharedMemoryRegistry::RegionInfo>> SharedMemoryRegistry::List(
    const std::string& name) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<RegionInfo> out;
  if (!name.empty()) {
    auto it = regions_.find(name);
    if (it == regions_.end()) return NotFound("unknown shared memory region '" + name + "'");
    out.push_back(it->second->info);
    return out;
  }
  for (const auto& [n, r] : regions_) out.push_back(r->info);
  return out;
}

StatusOr<SharedMemoryRegistry::Mapping> SharedMemoryRegistry::Acquire(const std::string& name,
                                                                      uint64_t offset, uint64_t size) const {
  std::shared_ptr<Region> region;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = regions_.find(name);
    if (it == regions_.end()) return NotFound("unknown shared memory region '" + name + "'");
    region = it->second;
  }
  const uint64_t region_size = region->info.byte_size;
  if (offset > region_size || size > region_size - offset)
    return InvalidArgument("shared memory window [" + std::to_string(offset) + ", +" + std::to_string(size) +
                           ") is outside region '" + name + "' of " + std::to_string(region_size) + " bytes");
  Mapping m;
  m.data_ = region->data + offset;
  m.size_ = static_cast<size_t>(size);
  m.region_ = std::move(region);
  return m;
}

}  // namespace accel
