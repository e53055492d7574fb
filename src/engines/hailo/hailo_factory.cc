// The hailo EngineFactory: finds cards (HailoRT's scan plus the SDK-free host scan for diagnosis), reads
// their identity and sensors, and opens one engine per card.
#include <hailo/hailort.h>

#include <hailo/device.hpp>
#include <mutex>

#include "core/logging.h"
#include "engines/hailo/hailo_device_info.h"
#include "engines/hailo/hailo_engine.h"
#include "engines/hailo/hailo_engine_internal.h"
#include "engines/hailo/hailo_options.h"
#include "engines/hailo/hailo_status_map.h"

namespace accel {
namespace {

HailoIdentity CopyIdentity(const hailo_device_identity_t& id) {
  HailoIdentity out;
  out.board_name = FixedLengthString(id.board_name, id.board_name_length, sizeof(id.board_name));
  out.serial_number = FixedLengthString(id.serial_number, id.serial_number_length, sizeof(id.serial_number));
  out.part_number = FixedLengthString(id.part_number, id.part_number_length, sizeof(id.part_number));
  out.product_name = FixedLengthString(id.product_name, id.product_name_length, sizeof(id.product_name));
  out.firmware = HailoVersion{id.fw_version.major, id.fw_version.minor, id.fw_version.revision};
  out.firmware_is_release = id.is_release;
  out.architecture = static_cast<int>(id.device_architecture);
  return out;
}

std::string SdkMessage(hailo_status s) {
  const char* m = hailo_get_status_message(s);
  return m != nullptr ? m : "";
}

class HailoEngineFactory final : public EngineFactory {
 public:
  std::string kind() const override { return "hailo"; }

  ProbeResult Probe() override {
    std::lock_guard lock(mu_);  // HailoRT's scan and control calls are not documented as re-entrant
    ProbeResult result;
    const HailoVersion library = HailoLibraryVersion();
    const HailoHostScan host = ScanHailoHost();
    const auto problems = DiagnoseHailoHost(host, library);
    try {
      auto ids = hailort::Device::scan();
      if (!ids) {
        Status s = HailoStatusToAccel(static_cast<int>(ids.status()), "scanning for Hailo devices",
                                      SdkMessage(ids.status()));
        result.unavailable_reason = problems.empty() ? s.message() : problems.front();
        return result;
      }
      if (ids->empty()) {
        result.unavailable_reason = HailoUnavailableReason(host, library);
        return result;
      }
      for (const std::string& bdf : *ids) result.devices.push_back(ProbeOne(bdf, library, host, problems));
    } catch (const std::exception& e) {
      result.devices.clear();
      result.unavailable_reason = std::string("hailo probe: ") + e.what();
    }
    return result;
  }

  std::vector<EngineOptionSpec> OptionSpecs() const override { return HailoOptionSpecs(); }

  StatusOr<std::unique_ptr<Engine>> Create(const DeviceInfo& device, const EngineOptions& options) override {
    if (device.kind != "hailo") return InvalidArgument("device '" + device.id + "' is not a hailo device");
    if (auto it = device.properties.find("error"); it != device.properties.end())
      return Unavailable(device.id + " cannot be opened: " + it->second);
    if (auto it = device.properties.find("architecture");
        it != device.properties.end() && it->second != "HAILO8" && it->second != "HAILO8L") {
      return FailedPrecondition(device.id + " is a " + it->second +
                                "; HailoRT 4.x runs Hailo-8 and Hailo-8L only");
    }
    ACCEL_ASSIGN_OR_RETURN(HailoOptions parsed, ParseHailoOptions(options));
    return CreateHailoEngine(device, parsed);
  }

 private:
  static DeviceInfo ProbeOne(const std::string& bdf, const HailoVersion& library, const HailoHostScan& host,
                             const std::vector<std::string>& problems) {
    std::optional<HailoIdentity> identity;
    HailoReadings readings;
    std::string open_error;
    // A control-only handle: identity and sensors. It fails when the driver refuses us (versions,
    // permissions), which is exactly what the listing should then say.
    auto device = hailort::Device::create(bdf);
    if (!device) {
      open_error =
          HailoStatusToAccel(static_cast<int>(device.status()), "opening " + bdf, SdkMessage(device.status()))
              .message();
    } else {
      auto id = (*device)->identify();
      if (id)
        identity = CopyIdentity(*id);
      else
        open_error =
            HailoStatusToAccel(static_cast<int>(id.status()), "identify", SdkMessage(id.status())).message();
      if (auto t = (*device)->get_chip_temperature())
        readings.temperature_c = (t->ts0_temperature + t->ts1_temperature) / 2.0;
      if (auto p = (*device)->power_measurement(HAILO_DVM_OPTIONS_AUTO, HAILO_POWER_MEASUREMENT_TYPES__POWER))
        readings.power_w = *p;
    }
    DeviceInfo info = MakeHailoDeviceInfo(bdf, identity, readings, library, host, open_error);
    if (!problems.empty() && !info.properties.count("warning")) info.properties["warning"] = problems.front();
    if (!open_error.empty()) {
      ACCEL_LOG(kWarn, "hailo") << open_error;
    }
    return info;
  }

  std::mutex mu_;
};

}  // namespace

std::unique_ptr<EngineFactory> MakeHailoEngineFactory() { return std::make_unique<HailoEngineFactory>(); }

}  // namespace accel
