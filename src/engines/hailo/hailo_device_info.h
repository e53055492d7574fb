// What can be known about Hailo cards without HailoRT: the host scan (PCI functions, the hailo_pci driver
// and its version, /dev/hailoN nodes and their permissions), version comparison with the fix to apply,
// and turning a card's identity (as HailoRT's Device::identify reports it, copied into plain fields) into
// the DeviceInfo shown by /ai/hardware and `accel devices`.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "engines/engine.h"

namespace accel {

// PCI vendor id of Hailo Technologies (as in /sys/bus/pci/devices/*/vendor).
inline constexpr uint32_t kHailoPciVendor = 0x1e60;

// hailo_device_architecture_t values (hailort.h, HailoRT 4.23); static_asserted in hailo_engine.cc.
inline constexpr int kHailoArchHailo8A0 = 0;
inline constexpr int kHailoArchHailo8 = 1;
inline constexpr int kHailoArchHailo8L = 2;
inline constexpr int kHailoArchHailo15H = 3;
inline constexpr int kHailoArchHailo15L = 4;
inline constexpr int kHailoArchHailo15M = 5;
inline constexpr int kHailoArchHailo10H = 6;
inline constexpr int kHailoArchMars = 7;

// "HAILO8", "HAILO8L", ...; "UNKNOWN(<n>)" otherwise.
std::string HailoArchitectureName(int architecture);
// True for the chips HailoRT 4.x serves (Hailo-8, Hailo-8L); 5.x dropped them, and 4.x does not run the
// Hailo-10/15 family.
bool IsHailo8Family(int architecture);

struct HailoVersion {
  uint32_t major = 0, minor = 0, revision = 0;
  std::string ToString() const;  // "4.23.0"
  bool operator==(const HailoVersion&) const = default;
};
// Accepts "4.23.0", "4.23.0\n", "4.23.0-1" (a suffix after the third number is ignored).
StatusOr<HailoVersion> ParseHailoVersion(std::string_view text);

// A fixed-size char array with a separate length field (hailo_device_identity_t's board_name etc.): at
// most min(length, capacity) bytes, cut at the first NUL, trailing spaces removed.
std::string FixedLengthString(const char* data, size_t length, size_t capacity);

// A card's identity, copied out of hailo_device_identity_t.
struct HailoIdentity {
  std::string board_name;
  std::string serial_number;
  std::string part_number;
  std::string product_name;
  HailoVersion firmware;
  bool firmware_is_release = true;
  int architecture = -1;
};

// One /sys/class/hailo_chardev/<node> entry: a card the hailo_pci driver has bound.
struct HailoCharDevice {
  std::string node;                // "hailo0"
  std::string board_location;      // PCI BDF, "0000:01:00.0" (the HailoRT device id)
  std::filesystem::path dev_path;  // /dev/hailo0
  bool dev_exists = false;
  bool dev_accessible = false;  // read+write for this process
};

// One PCI function with the Hailo vendor id, bound to a driver or not.
struct HailoPciFunction {
  std::string bdf;
  uint32_t device_id = 0;
  std::string driver;  // name of the bound driver ("hailo_pci"), empty if none
};

struct HailoHostScan {
  std::vector<HailoPciFunction> pci;
  std::vector<HailoCharDevice> char_devices;
  bool driver_loaded = false;                  // /sys/module/hailo_pci exists
  std::optional<HailoVersion> driver_version;  // /sys/module/hailo_pci/version
};

// Where to look; tests point these at a fake tree.
struct HailoHostPaths {
  std::filesystem::path sys = "/sys";
  std::filesystem::path dev = "/dev";
};

// Never fails: missing folders simply mean nothing was found.
HailoHostScan ScanHailoHost(const HailoHostPaths& paths = {});

// Problems that keep HailoRT from using the cards, each with the fix, given the library version the
// engine was built with (or runs with). Empty when nothing is wrong.
std::vector<std::string> DiagnoseHailoHost(const HailoHostScan& scan, const HailoVersion& library);

// The reason shown when a probe finds no usable card: the first diagnosis, or "no Hailo PCIe device found".
std::string HailoUnavailableReason(const HailoHostScan& scan, const HailoVersion& library);

// Firmware vs library: empty when major.minor agree, else the warning with the fix.
std::string FirmwareMismatchMessage(const HailoVersion& firmware, const HailoVersion& library);

// "hailo:0000:01:00.0" <-> "0000:01:00.0".
std::string HailoDeviceInfoId(std::string_view bdf);
std::string HailoBdfFromDeviceInfoId(std::string_view id);

// Live readings, when the board supports them.
struct HailoReadings {
  std::optional<double> temperature_c;
  std::optional<double> power_w;
};

// The DeviceInfo for one card. `identity` is absent when the card could not be opened (then
// `open_error` says why and the card is listed but not usable).
DeviceInfo MakeHailoDeviceInfo(std::string_view bdf, const std::optional<HailoIdentity>& identity,
                               const HailoReadings& readings, const HailoVersion& library,
                               const HailoHostScan& scan, std::string_view open_error = {});

}  // namespace accel
