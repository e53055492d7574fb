// Number parsing and range-checked arithmetic for values that come from outside (clients, flags, files).
// The one place that turns text or a double into an integer: every cast is checked, so an out-of-range
// value is an error instead of undefined behaviour.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <string_view>
#include <type_traits>

#include "core/status.h"

namespace accel {

// Whole text must be a finite decimal number ("1e3", "0.25"); no leading/trailing junk, no inf/nan.
std::optional<double> ParseDouble(std::string_view text);
// Whole text must be a base-10 integer that fits int64_t.
std::optional<int64_t> ParseInt64(std::string_view text);

// `v` as Int when it is finite, integral and representable; nullopt otherwise (1e30, -1 as size_t, 2.5).
template <typename Int>
std::optional<Int> IntegralCast(double v) {
  static_assert(std::is_integral_v<Int>);
  if (!std::isfinite(v) || v != std::floor(v)) return std::nullopt;
  // Compare in long double: the max of a 64-bit type is not exactly representable as double.
  const long double x = v;
  if (x < static_cast<long double>(std::numeric_limits<Int>::min()) ||
      x > static_cast<long double>(std::numeric_limits<Int>::max()))
    return std::nullopt;
  return static_cast<Int>(v);
}

// a * b, or nullopt on overflow.
std::optional<int64_t> CheckedMul(int64_t a, int64_t b);
std::optional<size_t> CheckedMul(size_t a, size_t b);

// Parses a field given as text into [lo, hi]; the error names the field and the range.
StatusOr<double> ParseNumberField(std::string_view field, std::string_view text, double lo, double hi);
StatusOr<int64_t> ParseIntegerField(std::string_view field, std::string_view text, int64_t lo, int64_t hi);
// The same for a number already parsed (JSON, protobuf): must be integral and within [lo, hi].
StatusOr<int64_t> IntegerInRange(std::string_view field, double value, int64_t lo, int64_t hi);

}  // namespace accel
