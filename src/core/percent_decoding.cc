#include "core/percent_decoding.h"

#include <charconv>

namespace accel {

StatusOr<std::string> PercentDecodeUserInfo(std::string_view text, std::string_view what) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out.push_back(text[i]);
      continue;
    }
    unsigned value = 0;
    if (i + 2 >= text.size() ||
        std::from_chars(text.data() + i + 1, text.data() + i + 3, value, 16).ptr != text.data() + i + 3)
      return InvalidArgument(std::string(what) + ": bad percent-encoding in the user information");
    out.push_back(static_cast<char>(value));
    i += 2;
  }
  return out;
}

}  // namespace accel
