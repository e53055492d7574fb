// LogThrottle: one log line per interval for a kind of event a remote peer can repeat at will (refused
// connections, malformed messages), with a count of the lines held back, so that no client can flood the log.
#pragma once

#include <chrono>
#include <mutex>
#include <string>

#include "core/clock.h"

namespace accel {

class LogThrottle {
 public:
  explicit LogThrottle(std::chrono::seconds interval = std::chrono::seconds(10)) : interval_(interval) {}

  // Whether to log now; if so, `held_back_note` is the text to append for the lines held back since the
  // last one ("" if none). Any thread.
  bool Allow(std::string* held_back_note);

 private:
  const std::chrono::seconds interval_;
  std::mutex mutex_;
  SteadyTime last_{};
  long long held_back_ = 0;
};

}  // namespace accel
