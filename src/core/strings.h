// Small string helpers used by configuration and request parsing.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace accel {

// Splits on `sep`, trims spaces and tabs, drops empty items.
std::vector<std::string> SplitList(const std::string& text, char sep = ',');
// "true", "1", "yes", "on" (any case) -> true; "false", "0", "no", "off", "" -> false; else an error.
StatusOr<bool> ParseBool(const std::string& text);
std::string ToLower(std::string_view text);

}  // namespace accel
