#include "api/protobuf_log.h"

#include <google/protobuf/stubs/logging.h>

#include <atomic>
#include <mutex>
#include <string>

#include "core/log_throttle.h"
#include "core/logging.h"

namespace accel {
namespace {

std::atomic<long long> messages_seen{0};

LogThrottle& ProtobufLogThrottle() {
  static LogThrottle throttle;
  return throttle;
}

void HandleProtobufLog(google::protobuf::LogLevel level, const char* filename, int line,
                       const std::string& message) {
  messages_seen.fetch_add(1, std::memory_order_relaxed);
  // Protobuf's FATAL aborts after the handler returns; that line is never held back.
  const bool fatal = level == google::protobuf::LOGLEVEL_FATAL;
  std::string held_back;
  if (!fatal && !ProtobufLogThrottle().Allow(&held_back)) return;
  const LogLevel ours = level == google::protobuf::LOGLEVEL_INFO      ? LogLevel::kDebug
                        : level == google::protobuf::LOGLEVEL_WARNING ? LogLevel::kWarn
                                                                      : LogLevel::kError;
  if (!LogEnabled(ours)) return;
  LogLine(ours, "protobuf",
          message + " [" + (filename ? filename : "?") + ":" + std::to_string(line) + "]" + held_back);
}

}  // namespace

void RouteProtobufLogs() {
  static std::once_flag once;
  std::call_once(once, [] { google::protobuf::SetLogHandler(&HandleProtobufLog); });
}

long long ProtobufLogMessagesSeen() { return messages_seen.load(std::memory_order_relaxed); }

}  // namespace accel
