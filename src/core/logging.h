// Logging: one line per event on stderr, "2026-11-21T10:00:00.123Z INFO  scheduler: message key=value".
// LOG_LEVEL (debug|info|warn|error) sets the threshold; DEBUG=true forces debug. Warnings and errors are
// also kept in a small ring buffer so the API can show recent errors.
#pragma once

#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace accel {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

void SetLogLevel(LogLevel level);
LogLevel GetLogLevel();
bool LogEnabled(LogLevel level);
bool ParseLogLevel(std::string_view text, LogLevel* level);
std::string_view LogLevelName(LogLevel level);

void LogLine(LogLevel level, std::string_view component, std::string_view message);

struct LogRecord {
  std::string time;  // ISO 8601 UTC
  LogLevel level;
  std::string component;
  std::string message;
};
// The newest warnings and errors, oldest first (at most 100).
std::vector<LogRecord> RecentProblems();

class LogStream;
// Turns a LogStream expression into void so that ACCEL_LOG can be a conditional expression.
struct LogVoidify {
  void operator&(const LogStream&) {}
};

class LogStream {
 public:
  LogStream(LogLevel level, std::string_view component) : level_(level), component_(component) {}
  ~LogStream() { LogLine(level_, component_, out_.str()); }
  template <typename T>
  LogStream& operator<<(const T& v) {
    out_ << v;
    return *this;
  }

 private:
  LogLevel level_;
  std::string_view component_;
  std::ostringstream out_;
};

}  // namespace accel

// ACCEL_LOG(kInfo, "scheduler") << "device " << id << " ejected";  (arguments not evaluated when disabled)
// An expression, not an if/else, so it is safe under an unbraced if. `&` binds looser than `<<`, so the
// whole stream is built before LogVoidify swallows it.
#define ACCEL_LOG(level, component)              \
  !::accel::LogEnabled(::accel::LogLevel::level) \
      ? (void)0                                  \
      : ::accel::LogVoidify() & ::accel::LogStream(::accel::LogLevel::level, component)
