#include "engines/hailo/hailo_status_map.h"

namespace accel {

HailoStatusClass ClassifyHailoStatus(int s) {
  switch (s) {
    case kHailoSuccess:
      return {StatusCode::kOk, HailoFault::kNone};
    case kHailoInvalidArgument:
    case kHailoInsufficientBuffer:
    case kHailoInvalidOperation:
    case kHailoNotFound:
      return {StatusCode::kInternal, HailoFault::kRequest};
    case kHailoOutOfHostMemory:
    case kHailoQueueIsFull:
      return {StatusCode::kResourceExhausted, HailoFault::kRequest};
    case kHailoInvalidHef:
    case kHailoHefFileCorrupted:
    case kHailoHefNotSupported:
    case kHailoHefNotCompatibleWithDevice:
    case kHailoInvalidDeviceArchitecture:
    case kHailoOpenFileFailure:
    case kHailoNotSupported:
      return {StatusCode::kFailedPrecondition, HailoFault::kModel};
    case kHailoOutOfFwMemory:
      return {StatusCode::kResourceExhausted, HailoFault::kModel};
    case kHailoDeviceInUse:
    case kHailoOutOfPhysicalDevices:
      return {StatusCode::kUnavailable, HailoFault::kBusy};
    case kHailoUnsupportedFwVersion:
    case kHailoInvalidFirmware:
    case kHailoDriverNotInstalled:
    case kHailoInvalidDriverVersion:
    case kHailoInvalidServiceVersion:
    case kHailoDriverInvalidIoctl:
      return {StatusCode::kUnavailable, HailoFault::kVersion};
    case kHailoTimeout:
    case kHailoDriverTimeout:
      return {StatusCode::kUnavailable, HailoFault::kDevice};
    // Shutdown-related codes also mean "the card is gone" when we did not ask for a shutdown; the engine
    // checks its own shutdown flag before classifying.
    case kHailoStreamAbort:
    case kHailoShutdownEventSignaled:
    case kHailoDriverInterrupted:
    case kHailoDriverWaitCanceled:
    case kHailoCommunicationClosed:
    case kHailoInternalFailure:
    case kHailoFwControlFailure:
    case kHailoDriverOperationFailed:
    case kHailoDriverInvalidResponse:
    case kHailoRpcFailed:
    case kHailoConnectionRefused:
    case kHailoNotAvailable:
      return {StatusCode::kUnavailable, HailoFault::kDevice};
    default:
      // Unknown codes (a newer HailoRT): assume the worst for the card, so it is probed before reuse.
      return {StatusCode::kUnavailable, HailoFault::kDevice};
  }
}

std::string_view HailoFaultName(HailoFault fault) {
  switch (fault) {
    case HailoFault::kNone:
      return "none";
    case HailoFault::kRequest:
      return "request";
    case HailoFault::kModel:
      return "model";
    case HailoFault::kBusy:
      return "busy";
    case HailoFault::kVersion:
      return "version";
    case HailoFault::kDevice:
      return "device";
  }
  return "unknown";
}

std::string HailoStatusName(int s) {
  switch (s) {
    case kHailoSuccess:
      return "HAILO_SUCCESS";
    case kHailoInvalidArgument:
      return "HAILO_INVALID_ARGUMENT";
    case kHailoOutOfHostMemory:
      return "HAILO_OUT_OF_HOST_MEMORY";
    case kHailoTimeout:
      return "HAILO_TIMEOUT";
    case kHailoInsufficientBuffer:
      return "HAILO_INSUFFICIENT_BUFFER";
    case kHailoInvalidOperation:
      return "HAILO_INVALID_OPERATION";
    case kHailoInternalFailure:
      return "HAILO_INTERNAL_FAILURE";
    case kHailoOpenFileFailure:
      return "HAILO_OPEN_FILE_FAILURE";
    case kHailoUnsupportedFwVersion:
      return "HAILO_UNSUPPORTED_FW_VERSION";
    case kHailoFwControlFailure:
      return "HAILO_FW_CONTROL_FAILURE";
    case kHailoInvalidFirmware:
      return "HAILO_INVALID_FIRMWARE";
    case kHailoInvalidHef:
      return "HAILO_INVALID_HEF";
    case kHailoDriverOperationFailed:
      return "HAILO_DRIVER_OPERATION_FAILED";
    case kHailoShutdownEventSignaled:
      return "HAILO_SHUTDOWN_EVENT_SIGNALED";
    case kHailoNotFound:
      return "HAILO_NOT_FOUND";
    case kHailoCommunicationClosed:
      return "HAILO_COMMUNICATION_CLOSED";
    case kHailoStreamAbort:
      return "HAILO_STREAM_ABORT";
    case kHailoDriverNotInstalled:
      return "HAILO_DRIVER_NOT_INSTALLED";
    case kHailoNotAvailable:
      return "HAILO_NOT_AVAILABLE";
    case kHailoOutOfFwMemory:
      return "HAILO_OUT_OF_FW_MEMORY";
    case kHailoDeviceInUse:
      return "HAILO_DEVICE_IN_USE";
    case kHailoOutOfPhysicalDevices:
      return "HAILO_OUT_OF_PHYSICAL_DEVICES";
    case kHailoInvalidDeviceArchitecture:
      return "HAILO_INVALID_DEVICE_ARCHITECTURE";
    case kHailoInvalidDriverVersion:
      return "HAILO_INVALID_DRIVER_VERSION";
    case kHailoRpcFailed:
      return "HAILO_RPC_FAILED";
    case kHailoInvalidServiceVersion:
      return "HAILO_INVALID_SERVICE_VERSION";
    case kHailoNotSupported:
      return "HAILO_NOT_SUPPORTED";
    case kHailoQueueIsFull:
      return "HAILO_QUEUE_IS_FULL";
    case kHailoDriverInvalidResponse:
      return "HAILO_DRIVER_INVALID_RESPONSE";
    case kHailoDriverInvalidIoctl:
      return "HAILO_DRIVER_INVALID_IOCTL";
    case kHailoDriverTimeout:
      return "HAILO_DRIVER_TIMEOUT";
    case kHailoDriverInterrupted:
      return "HAILO_DRIVER_INTERRUPTED";
    case kHailoConnectionRefused:
      return "HAILO_CONNECTION_REFUSED";
    case kHailoDriverWaitCanceled:
      return "HAILO_DRIVER_WAIT_CANCELED";
    case kHailoHefFileCorrupted:
      return "HAILO_HEF_FILE_CORRUPTED";
    case kHailoHefNotSupported:
      return "HAILO_HEF_NOT_SUPPORTED";
    case kHailoHefNotCompatibleWithDevice:
      return "HAILO_HEF_NOT_COMPATIBLE_WITH_DEVICE";
  }
  return "HAILO_STATUS_" + std::to_string(s);
}

namespace {

std::string_view FixFor(int s, HailoFault fault) {
  switch (s) {
    case kHailoInvalidDriverVersion:
    case kHailoDriverInvalidIoctl:
      return "the hailo_pci driver and libhailort must be the same version: install the "
             "hailort-pcie-driver package of your HailoRT version and reload the driver (docs/hailo.md)";
    case kHailoDriverNotInstalled:
      return "install the hailort-pcie-driver package (same version as HailoRT) and load it: "
             "sudo modprobe hailo_pci (docs/hailo.md)";
    case kHailoUnsupportedFwVersion:
    case kHailoInvalidFirmware:
      return "the card's firmware does not match HailoRT: install the firmware shipped with the driver "
             "package of the same version and reboot (docs/hailo.md)";
    case kHailoInvalidServiceVersion:
      return "hailort.service runs another HailoRT version than this program: upgrade both together";
    case kHailoHefNotCompatibleWithDevice:
    case kHailoInvalidDeviceArchitecture:
      return "the HEF was compiled for another chip: use the Hailo-8 HEF on a Hailo-8 and the Hailo-8L HEF "
             "on a Hailo-8L";
    case kHailoHefNotSupported:
      return "the HEF was compiled by a Dataflow Compiler this HailoRT does not support";
    default:
      break;
  }
  if (fault == HailoFault::kBusy) {
    return "another program holds the card: stop it, or run both through hailort.service "
           "(multi_process=true here and in the other program; docs/hailo.md)";
  }
  return {};
}

}  // namespace

Status HailoStatusToAccel(int s, std::string_view what, std::string_view detail) {
  const HailoStatusClass c = ClassifyHailoStatus(s);
  if (c.code == StatusCode::kOk) return Status::Ok();
  std::string message(what);
  message += ": HailoRT " + HailoStatusName(s) + " (" + std::to_string(s) + ")";
  if (!detail.empty()) {
    message += ": ";
    message += detail;
  }
  if (const auto fix = FixFor(s, c.fault); !fix.empty()) {
    message += "; ";
    message += fix;
  }
  return Status(c.code, std::move(message));
}

}  // namespace accel
