// Host scan over a fake /sys and /dev, identity formatting, version checks. No SDK, no card.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "engines/hailo/hailo_device_info.h"

namespace accel {
namespace {
namespace fs = std::filesystem;

class FakeHost : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "accel-hailo-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    root_ = tmpl;
    paths_.sys = root_ / "sys";
    paths_.dev = root_ / "dev";
    fs::create_directories(paths_.dev);
  }
  void TearDown() override { fs::remove_all(root_); }

  static void Write(const fs::path& p, const std::string& text) {
    fs::create_directories(p.parent_path());
    std::ofstream(p) << text;
  }
  void AddPci(const std::string& bdf, const std::string& vendor, const std::string& device, bool bound) {
    const fs::path d = paths_.sys / "bus/pci/devices" / bdf;
    Write(d / "vendor", vendor + "\n");
    Write(d / "device", device + "\n");
    if (bound) {
      fs::create_directories(paths_.sys / "bus/pci/drivers/hailo");
      fs::create_directory_symlink(paths_.sys / "bus/pci/drivers/hailo", d / "driver");
    }
  }
  void LoadDriver(const std::string& version) {
    Write(paths_.sys / "module/hailo_pci/version", version + "\n");
  }
  void AddCharDev(const std::string& node, const std::string& bdf, bool with_dev_node) {
    Write(paths_.sys / "class/hailo_chardev" / node / "board_location", bdf + "\n");
    if (with_dev_node) Write(paths_.dev / node, "");
  }

  fs::path root_;
  HailoHostPaths paths_;
  const HailoVersion lib_{4, 23, 0};
};

TEST_F(FakeHost, NothingThere) {
  const HailoHostScan scan = ScanHailoHost(paths_);
  EXPECT_TRUE(scan.pci.empty());
  EXPECT_FALSE(scan.driver_loaded);
  EXPECT_TRUE(DiagnoseHailoHost(scan, lib_).empty());
  EXPECT_NE(HailoUnavailableReason(scan, lib_).find("no Hailo PCIe device"), std::string::npos);
}

TEST_F(FakeHost, HealthyCard) {
  AddPci("0000:01:00.0", "0x1e60", "0x2864", true);
  AddPci("0000:02:00.0", "0x10de", "0x2330", false);  // not Hailo
  LoadDriver("4.23.0");
  AddCharDev("hailo0", "0000:01:00.0", true);
  const HailoHostScan scan = ScanHailoHost(paths_);
  ASSERT_EQ(scan.pci.size(), 1u);
  EXPECT_EQ(scan.pci[0].bdf, "0000:01:00.0");
  EXPECT_EQ(scan.pci[0].device_id, 0x2864u);
  EXPECT_EQ(scan.pci[0].driver, "hailo");
  ASSERT_TRUE(scan.driver_version.has_value());
  EXPECT_EQ(*scan.driver_version, lib_);
  ASSERT_EQ(scan.char_devices.size(), 1u);
  EXPECT_EQ(scan.char_devices[0].board_location, "0000:01:00.0");
  EXPECT_TRUE(scan.char_devices[0].dev_exists);
  EXPECT_TRUE(DiagnoseHailoHost(scan, lib_).empty());
}

TEST_F(FakeHost, DriverNotLoaded) {
  AddPci("0000:01:00.0", "0x1e60", "0x2864", false);
  const auto problems = DiagnoseHailoHost(ScanHailoHost(paths_), lib_);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].find("not loaded"), std::string::npos) << problems[0];
  EXPECT_NE(problems[0].find("modprobe hailo_pci"), std::string::npos);
  EXPECT_NE(problems[0].find("4.23.0"), std::string::npos);
}

TEST_F(FakeHost, DriverVersionMismatchNamesBothVersionsAndTheFix) {
  AddPci("0000:01:00.0", "0x1e60", "0x2864", true);
  LoadDriver("4.20.0");
  AddCharDev("hailo0", "0000:01:00.0", true);
  const HailoHostScan scan = ScanHailoHost(paths_);
  const auto problems = DiagnoseHailoHost(scan, lib_);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].find("4.20.0"), std::string::npos) << problems[0];
  EXPECT_NE(problems[0].find("HailoRT 4.23.0"), std::string::npos);
  EXPECT_NE(problems[0].find("hailort-pcie-driver 4.23.0"), std::string::npos);
  EXPECT_EQ(HailoUnavailableReason(scan, lib_), problems[0]);
}

TEST_F(FakeHost, DeviceNodeMissingInAContainer) {
  AddPci("0000:01:00.0", "0x1e60", "0x2864", true);
  LoadDriver("4.23.0");
  AddCharDev("hailo0", "0000:01:00.0", false);
  const auto problems = DiagnoseHailoHost(ScanHailoHost(paths_), lib_);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].find("--device"), std::string::npos) << problems[0];
}

TEST_F(FakeHost, DriverLoadedButNotBound) {
  AddPci("0000:01:00.0", "0x1e60", "0x2864", false);
  LoadDriver("4.23.0");
  const auto problems = DiagnoseHailoHost(ScanHailoHost(paths_), lib_);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].find("dmesg"), std::string::npos) << problems[0];
}

TEST_F(FakeHost, DeviceNodeWithoutPermission) {
  if (::geteuid() == 0) GTEST_SKIP() << "root can open any device node; permission check not testable";
  AddPci("0000:01:00.0", "0x1e60", "0x2864", true);
  LoadDriver("4.23.0");
  AddCharDev("hailo0", "0000:01:00.0", true);
  fs::permissions(paths_.dev / "hailo0", fs::perms::none);
  const auto problems = DiagnoseHailoHost(ScanHailoHost(paths_), lib_);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].find("permission"), std::string::npos) << problems[0];
}

TEST(HailoVersion, Parse) {
  auto v = ParseHailoVersion("4.23.0\n");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->ToString(), "4.23.0");
  v = ParseHailoVersion("4.18.1-1");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(*v, (HailoVersion{4, 18, 1}));
  EXPECT_FALSE(ParseHailoVersion("4.23").ok());
  EXPECT_FALSE(ParseHailoVersion("").ok());
  EXPECT_FALSE(ParseHailoVersion("v4.23.0").ok());
}

TEST(HailoIdentity, FixedLengthStrings) {
  const char board[8] = {'H', 'a', 'i', 'l', 'o', '-', '8', 'X'};  // no NUL: the length field decides
  EXPECT_EQ(FixedLengthString(board, 7, sizeof board), "Hailo-8");
  EXPECT_EQ(FixedLengthString(board, 200, sizeof board), "Hailo-8X");  // length larger than the array
  const char padded[8] = {'A', 'B', ' ', ' ', '\0', 'Z', 'Z', 'Z'};
  EXPECT_EQ(FixedLengthString(padded, 8, sizeof padded), "AB");
}

TEST(HailoIdentity, ArchitectureNames) {
  EXPECT_EQ(HailoArchitectureName(kHailoArchHailo8), "HAILO8");
  EXPECT_EQ(HailoArchitectureName(kHailoArchHailo8L), "HAILO8L");
  EXPECT_EQ(HailoArchitectureName(99), "UNKNOWN(99)");
  EXPECT_TRUE(IsHailo8Family(kHailoArchHailo8L));
  EXPECT_FALSE(IsHailo8Family(kHailoArchHailo10H));
}

TEST(HailoIdentity, DeviceInfoForHardwareListing) {
  HailoHostScan scan;
  scan.pci.push_back({"0000:01:00.0", 0x2864, "hailo"});
  scan.driver_version = HailoVersion{4, 23, 0};
  scan.char_devices.push_back({"hailo0", "0000:01:00.0", "/dev/hailo0", true, true});
  HailoIdentity id;
  id.board_name = "Hailo-8";
  id.serial_number = "HLLWM2B123456";
  id.product_name = "HAILO-8L AI ACC M.2 B+M KEY MODULE EXT TMP";
  id.firmware = {4, 23, 0};
  id.architecture = kHailoArchHailo8L;
  HailoReadings readings;
  readings.temperature_c = 47.25;
  const DeviceInfo info = MakeHailoDeviceInfo("0000:01:00.0", id, readings, {4, 23, 0}, scan);
  EXPECT_EQ(info.id, "hailo:0000:01:00.0");
  EXPECT_EQ(info.kind, "hailo");
  EXPECT_FALSE(info.simulated);
  EXPECT_EQ(info.name.rfind("Hailo-8L", 0), 0u) << info.name;
  EXPECT_EQ(info.properties.at("architecture"), "HAILO8L");
  EXPECT_EQ(info.properties.at("serial_number"), "HLLWM2B123456");
  EXPECT_EQ(info.properties.at("firmware_version"), "4.23.0");
  EXPECT_EQ(info.properties.at("driver_version"), "4.23.0");
  EXPECT_EQ(info.properties.at("pci_device_id"), "0x2864");
  EXPECT_EQ(info.properties.at("device_node"), "/dev/hailo0");
  EXPECT_EQ(info.properties.at("temperature_c"), "47.2");
  EXPECT_EQ(info.properties.count("power_w"), 0u);  // the board did not report power
  EXPECT_EQ(info.properties.count("warning"), 0u);
  EXPECT_EQ(HailoBdfFromDeviceInfoId(info.id), "0000:01:00.0");
}

TEST(HailoIdentity, FirmwareMismatchAndUnopenableCards) {
  HailoIdentity id;
  id.firmware = {4, 20, 0};
  id.architecture = kHailoArchHailo8;
  const DeviceInfo info = MakeHailoDeviceInfo("0000:01:00.0", id, {}, {4, 23, 0}, {});
  ASSERT_EQ(info.properties.count("warning"), 1u);
  EXPECT_NE(info.properties.at("warning").find("firmware 4.20.0"), std::string::npos);
  EXPECT_TRUE(FirmwareMismatchMessage({4, 23, 1}, {4, 23, 0}).empty());  // revisions may differ

  const DeviceInfo closed =
      MakeHailoDeviceInfo("0000:03:00.0", std::nullopt, {}, {4, 23, 0}, {}, "HAILO_DEVICE_IN_USE");
  EXPECT_EQ(closed.properties.at("error"), "HAILO_DEVICE_IN_USE");
  EXPECT_EQ(closed.properties.count("architecture"), 0u);
}

}  // namespace
}  // namespace accel
