#include "engines/hailo/hailo_device_info.h"

#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <system_error>

namespace accel {
namespace fs = std::filesystem;
namespace {

std::string ReadFirstLine(const fs::path& path) {
  std::ifstream in(path);
  std::string line;
  if (in) std::getline(in, line);
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r' || line.back() == ' ')) line.pop_back();
  return line;
}

bool ParseHex(const std::string& text, uint32_t* out) {
  std::string_view v = text;
  if (v.starts_with("0x") || v.starts_with("0X")) v.remove_prefix(2);
  if (v.empty()) return false;
  auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), *out, 16);
  return ec == std::errc() && ptr == v.data() + v.size();
}

std::vector<fs::directory_entry> SortedEntries(const fs::path& dir) {
  std::vector<fs::directory_entry> entries;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) entries.push_back(*it);
  std::sort(entries.begin(), entries.end(),
            [](const auto& a, const auto& b) { return a.path().filename() < b.path().filename(); });
  return entries;
}

std::string JoinBdfs(const std::vector<HailoPciFunction>& pci) {
  std::string out;
  for (const auto& f : pci) out += (out.empty() ? "" : ", ") + f.bdf;
  return out;
}

std::string FormatDouble(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

}  // namespace

std::string HailoArchitectureName(int a) {
  switch (a) {
    case kHailoArchHailo8A0:
      return "HAILO8_A0";
    case kHailoArchHailo8:
      return "HAILO8";
    case kHailoArchHailo8L:
      return "HAILO8L";
    case kHailoArchHailo15H:
      return "HAILO15H";
    case kHailoArchHailo15L:
      return "HAILO15L";
    case kHailoArchHailo15M:
      return "HAILO15M";
    case kHailoArchHailo10H:
      return "HAILO10H";
    case kHailoArchMars:
      return "MARS";
  }
  return "UNKNOWN(" + std::to_string(a) + ")";
}

bool IsHailo8Family(int a) {
  return a == kHailoArchHailo8 || a == kHailoArchHailo8L || a == kHailoArchHailo8A0;
}

std::string HailoVersion::ToString() const {
  return std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(revision);
}

StatusOr<HailoVersion> ParseHailoVersion(std::string_view text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' '))
    text.remove_suffix(1);
  HailoVersion v;
  uint32_t* parts[] = {&v.major, &v.minor, &v.revision};
  const char* p = text.data();
  const char* end = text.data() + text.size();
  for (int i = 0; i < 3; ++i) {
    auto [next, ec] = std::from_chars(p, end, *parts[i]);
    if (ec != std::errc()) return InvalidArgument("not a HailoRT version: '" + std::string(text) + "'");
    p = next;
    if (i < 2) {
      if (p == end || *p != '.') return InvalidArgument("not a HailoRT version: '" + std::string(text) + "'");
      ++p;
    }
  }
  if (p != end && (*p >= '0' && *p <= '9'))
    return InvalidArgument("not a HailoRT version: '" + std::string(text) + "'");
  return v;
}

std::string FixedLengthString(const char* data, size_t length, size_t capacity) {
  const size_t n = std::min(length, capacity);
  std::string s(data, n);
  if (const auto nul = s.find('\0'); nul != std::string::npos) s.resize(nul);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\n')) s.pop_back();
  return s;
}

HailoHostScan ScanHailoHost(const HailoHostPaths& paths) {
  HailoHostScan scan;
  for (const auto& e : SortedEntries(paths.sys / "bus/pci/devices")) {
    uint32_t vendor = 0;
    if (!ParseHex(ReadFirstLine(e.path() / "vendor"), &vendor) || vendor != kHailoPciVendor) continue;
    HailoPciFunction f;
    f.bdf = e.path().filename().string();
    ParseHex(ReadFirstLine(e.path() / "device"), &f.device_id);
    std::error_code ec;
    const fs::path driver = fs::read_symlink(e.path() / "driver", ec);
    if (!ec) f.driver = driver.filename().string();
    scan.pci.push_back(std::move(f));
  }
  std::error_code ec;
  scan.driver_loaded = fs::exists(paths.sys / "module/hailo_pci", ec);
  if (scan.driver_loaded) {
    auto v = ParseHailoVersion(ReadFirstLine(paths.sys / "module/hailo_pci/version"));
    if (v.ok()) scan.driver_version = *v;
  }
  for (const auto& e : SortedEntries(paths.sys / "class/hailo_chardev")) {
    HailoCharDevice d;
    d.node = e.path().filename().string();
    d.board_location = ReadFirstLine(e.path() / "board_location");
    d.dev_path = paths.dev / d.node;
    d.dev_exists = fs::exists(d.dev_path, ec);
    d.dev_accessible = d.dev_exists && ::access(d.dev_path.c_str(), R_OK | W_OK) == 0;
    scan.char_devices.push_back(std::move(d));
  }
  return scan;
}

std::vector<std::string> DiagnoseHailoHost(const HailoHostScan& scan, const HailoVersion& library) {
  std::vector<std::string> problems;
  const std::string lib = library.ToString();
  if (!scan.pci.empty() && !scan.driver_loaded) {
    problems.push_back("Hailo PCIe device " + JoinBdfs(scan.pci) +
                       " found but the hailo_pci driver is not loaded: install hailort-pcie-driver " + lib +
                       " (the same version as HailoRT) and run `sudo modprobe hailo_pci`");
  }
  if (scan.driver_version && !(*scan.driver_version == library)) {
    problems.push_back(
        "hailo_pci driver " + scan.driver_version->ToString() + " does not match HailoRT " + lib +
        ": HailoRT refuses a driver of another version (HAILO_INVALID_DRIVER_VERSION). Install "
        "hailort-pcie-driver " +
        lib + " (or HailoRT " + scan.driver_version->ToString() +
        "), then reload it: `sudo modprobe -r hailo_pci && sudo modprobe hailo_pci`, or reboot");
  }
  if (scan.driver_loaded && !scan.pci.empty() && scan.char_devices.empty()) {
    problems.push_back("the hailo_pci driver is loaded but has not bound " + JoinBdfs(scan.pci) +
                       ": see `dmesg | grep -i hailo` (a missing firmware file under /lib/firmware/hailo/ is "
                       "the usual cause)");
  }
  for (const auto& d : scan.char_devices) {
    if (!d.dev_exists) {
      problems.push_back(d.dev_path.string() + " (card " + d.board_location +
                         ") does not exist here: in a container pass the device node, e.g. `docker run "
                         "--device " +
                         d.dev_path.string() + "` (docs/hailo.md)");
    } else if (!d.dev_accessible) {
      problems.push_back("no read/write permission on " + d.dev_path.string() +
                         ": install the udev rule shipped with hailort-pcie-driver or add this user to the "
                         "group owning the node (docs/hailo.md)");
    }
  }
  return problems;
}

std::string HailoUnavailableReason(const HailoHostScan& scan, const HailoVersion& library) {
  const auto problems = DiagnoseHailoHost(scan, library);
  if (!problems.empty()) return problems.front();
  if (scan.pci.empty() && scan.char_devices.empty())
    return "no Hailo PCIe device found (no PCI function with vendor 0x1e60)";
  return "no usable Hailo device found";
}

std::string FirmwareMismatchMessage(const HailoVersion& firmware, const HailoVersion& library) {
  if (firmware.major == library.major && firmware.minor == library.minor) return {};
  return "firmware " + firmware.ToString() + " differs from HailoRT " + library.ToString() +
         ": install the firmware of hailort-pcie-driver " + library.ToString() +
         " (it ships /lib/firmware/hailo/hailo8_fw.bin) and reboot or reload the driver";
}

std::string HailoDeviceInfoId(std::string_view bdf) { return "hailo:" + std::string(bdf); }

std::string HailoBdfFromDeviceInfoId(std::string_view id) {
  if (id.starts_with("hailo:")) id.remove_prefix(6);
  return std::string(id);
}

DeviceInfo MakeHailoDeviceInfo(std::string_view bdf, const std::optional<HailoIdentity>& identity,
                               const HailoReadings& readings, const HailoVersion& library,
                               const HailoHostScan& scan, std::string_view open_error) {
  DeviceInfo info;
  info.id = HailoDeviceInfoId(bdf);
  info.kind = "hailo";
  auto& p = info.properties;
  p["pci_id"] = std::string(bdf);
  p["hailort_version"] = library.ToString();
  if (scan.driver_version) p["driver_version"] = scan.driver_version->ToString();
  for (const auto& f : scan.pci) {
    if (f.bdf != bdf) continue;
    char buf[16];
    std::snprintf(buf, sizeof buf, "0x%04x", f.device_id);
    p["pci_device_id"] = buf;
  }
  for (const auto& d : scan.char_devices)
    if (d.board_location == bdf) p["device_node"] = d.dev_path.string();
  if (identity) {
    const std::string arch = HailoArchitectureName(identity->architecture);
    p["architecture"] = arch;
    p["board_name"] = identity->board_name;
    if (!identity->serial_number.empty()) p["serial_number"] = identity->serial_number;
    if (!identity->part_number.empty()) p["part_number"] = identity->part_number;
    if (!identity->product_name.empty()) p["product_name"] = identity->product_name;
    p["firmware_version"] = identity->firmware.ToString() + (identity->firmware_is_release ? "" : " (debug)");
    if (const auto fw = FirmwareMismatchMessage(identity->firmware, library); !fw.empty()) p["warning"] = fw;
    if (!IsHailo8Family(identity->architecture))
      p["warning"] = arch + " is not a Hailo-8/8L: HailoRT 4.x does not run it";
    const std::string product = identity->architecture == kHailoArchHailo8L ? "Hailo-8L"
                                : IsHailo8Family(identity->architecture)    ? "Hailo-8"
                                                                            : arch;
    info.name = identity->product_name.empty() ? product : product + " (" + identity->product_name + ")";
  } else {
    info.name = "Hailo device";
    if (!open_error.empty()) p["error"] = std::string(open_error);
  }
  if (readings.temperature_c) p["temperature_c"] = FormatDouble(*readings.temperature_c);
  if (readings.power_w) p["power_w"] = FormatDouble(*readings.power_w);
  return info;
}

}  // namespace accel
