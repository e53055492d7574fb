// HailoRT status codes (hailo_status in hailort.h) and what each means for Accel: which Status code a
// client sees, and whether the card must be treated as failed. The numbers are HailoRT's documented ABI
// values; hailo_engine.cc static_asserts every one against the real enum, so a drift breaks the build.
#pragma once

#include <string>
#include <string_view>

#include "core/status.h"

namespace accel {

inline constexpr int kHailoSuccess = 0;
inline constexpr int kHailoInvalidArgument = 2;
inline constexpr int kHailoOutOfHostMemory = 3;
inline constexpr int kHailoTimeout = 4;
inline constexpr int kHailoInsufficientBuffer = 5;
inline constexpr int kHailoInvalidOperation = 6;
inline constexpr int kHailoInternalFailure = 8;
inline constexpr int kHailoOpenFileFailure = 13;
inline constexpr int kHailoUnsupportedFwVersion = 16;
inline constexpr int kHailoFwControlFailure = 18;
inline constexpr int kHailoInvalidFirmware = 23;
inline constexpr int kHailoInvalidHef = 26;
inline constexpr int kHailoDriverOperationFailed = 36;
inline constexpr int kHailoShutdownEventSignaled = 57;
inline constexpr int kHailoNotFound = 61;
inline constexpr int kHailoCommunicationClosed = 62;
inline constexpr int kHailoStreamAbort = 63;
inline constexpr int kHailoDriverNotInstalled = 64;
inline constexpr int kHailoNotAvailable = 65;
inline constexpr int kHailoOutOfFwMemory = 71;
inline constexpr int kHailoDeviceInUse = 73;
inline constexpr int kHailoOutOfPhysicalDevices = 74;
inline constexpr int kHailoInvalidDeviceArchitecture = 75;
inline constexpr int kHailoInvalidDriverVersion = 76;
inline constexpr int kHailoRpcFailed = 77;
inline constexpr int kHailoInvalidServiceVersion = 78;
inline constexpr int kHailoNotSupported = 79;
inline constexpr int kHailoQueueIsFull = 82;
inline constexpr int kHailoDriverInvalidResponse = 85;
inline constexpr int kHailoDriverInvalidIoctl = 86;
inline constexpr int kHailoDriverTimeout = 87;
inline constexpr int kHailoDriverInterrupted = 88;
inline constexpr int kHailoConnectionRefused = 89;
inline constexpr int kHailoDriverWaitCanceled = 90;
inline constexpr int kHailoHefFileCorrupted = 91;
inline constexpr int kHailoHefNotSupported = 92;
inline constexpr int kHailoHefNotCompatibleWithDevice = 93;

enum class HailoFault {
  kNone,     // success
  kRequest,  // this call failed; the card is fine (bad buffer, queue full)
  kModel,    // the HEF cannot run here (corrupt, compiled for another architecture, too big)
  kBusy,     // another process holds the card
  kVersion,  // driver / firmware / service / library versions disagree: fixing needs an install
  kDevice,   // timeout, driver or firmware error: the card is failed until it is recreated and probed
};

struct HailoStatusClass {
  StatusCode code = StatusCode::kOk;
  HailoFault fault = HailoFault::kNone;
};

HailoStatusClass ClassifyHailoStatus(int hailo_status);
std::string_view HailoFaultName(HailoFault fault);
// "HAILO_DRIVER_TIMEOUT" for the codes above, "HAILO_STATUS_<n>" for others.
std::string HailoStatusName(int hailo_status);

// A Status for a failed HailoRT call: "<what>: HailoRT <NAME> (<n>)[: <detail>][; <fix>]", where fix is a
// hint for the version, busy and model classes. `detail` is e.g. hailo_get_status_message's text.
Status HailoStatusToAccel(int hailo_status, std::string_view what, std::string_view detail = {});

}  // namespace accel
