// How the harnesses cut one fuzzer input into the parts of a request. Every byte string is a valid input:
// a missing part is empty.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

namespace accel::fuzz {

inline std::string_view AsText(const uint8_t* data, size_t size) {
  return std::string_view(reinterpret_cast<const char*>(data), size);
}

// Removes and returns everything up to the first '\n' (the whole input when there is none); the '\n' is
// dropped. For header-like parts (Content-Type, a path) that precede a body.
inline std::string_view TakeLine(std::string_view& input) {
  const size_t end = input.find('\n');
  const std::string_view line = input.substr(0, end);
  input.remove_prefix(end == std::string_view::npos ? input.size() : end + 1);
  return line;
}

// Frames of a multi-part message, each a 2-byte little-endian length and that many bytes; a length past the
// end takes what is left, and a last byte too short for a length is a frame of its own.
inline std::vector<std::string> SplitFrames(std::string_view input) {
  std::vector<std::string> frames;
  while (!input.empty()) {
    if (input.size() < 2) {
      frames.emplace_back(input);
      break;
    }
    const size_t length =
        static_cast<uint8_t>(input[0]) | (static_cast<size_t>(static_cast<uint8_t>(input[1])) << 8);
    input.remove_prefix(2);
    const std::string_view frame = input.substr(0, length);
    frames.emplace_back(frame);
    input.remove_prefix(frame.size());
  }
  return frames;
}

// Stops the run as a finding: for a property a harness checks itself (a round trip, a view inside its
// buffer), where the sanitizers would see nothing wrong.
#define ACCEL_FUZZ_CHECK(condition)                                                           \
  do {                                                                                        \
    if (!(condition)) {                                                                       \
      std::fprintf(stderr, "%s:%d: fuzz check failed: %s\n", __FILE__, __LINE__, #condition); \
      __builtin_trap();                                                                       \
    }                                                                                         \
  } while (0)

}  // namespace accel::fuzz
