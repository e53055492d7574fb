#include "core/numbers.h"

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <string>

namespace accel {

std::optional<double> ParseDouble(std::string_view text) {
  if (text.empty() || text.size() > 64) return std::nullopt;
  // strtod rather than from_chars<double>: the latter needs a newer libstdc++ than some arm64 boards have.
  const std::string copy(text);
  if (std::isspace(static_cast<unsigned char>(copy.front()))) return std::nullopt;
  char* end = nullptr;
  errno = 0;
  const double v = std::strtod(copy.c_str(), &end);
  if (end != copy.c_str() + copy.size() || errno == ERANGE || !std::isfinite(v)) return std::nullopt;
  return v;
}

std::optional<int64_t> ParseInt64(std::string_view text) {
  if (text.empty() || text.size() > 32) return std::nullopt;
  const std::string copy(text);
  if (std::isspace(static_cast<unsigned char>(copy.front()))) return std::nullopt;
  char* end = nullptr;
  errno = 0;
  const long long v = std::strtoll(copy.c_str(), &end, 10);
  if (end != copy.c_str() + copy.size() || errno == ERANGE) return std::nullopt;
  return static_cast<int64_t>(v);
}

std::optional<int64_t> CheckedMul(int64_t a, int64_t b) {
  int64_t out = 0;
  if (__builtin_mul_overflow(a, b, &out)) return std::nullopt;
  return out;
}

std::optional<size_t> CheckedMul(size_t a, size_t b) {
  size_t out = 0;
  if (__builtin_mul_overflow(a, b, &out)) return std::nullopt;
  return out;
}

namespace {
std::string Range(double lo, double hi) {
  auto text = [](double v) {
    std::string s = std::to_string(v);
    s.erase(s.find_last_not_of('0') + 1);
    if (!s.empty() && s.back() == '.') s.pop_back();
    return s;
  };
  return text(lo) + ".." + text(hi);
}
}  // namespace

StatusOr<double> ParseNumberField(std::string_view field, std::string_view text, double lo, double hi) {
  const auto v = ParseDouble(text);
  if (!v)
    return InvalidArgument("'" + std::string(field) + "' must be a number, got '" +
                           std::string(text.substr(0, 64)) + "'");
  if (*v < lo || *v > hi)
    return InvalidArgument("'" + std::string(field) + "' must be in " + Range(lo, hi) + ", got " +
                           std::string(text.substr(0, 64)));
  return *v;
}

StatusOr<int64_t> IntegerInRange(std::string_view field, double value, int64_t lo, int64_t hi) {
  const auto v = IntegralCast<int64_t>(value);
  if (!v || *v < lo || *v > hi)
    return InvalidArgument("'" + std::string(field) + "' must be an integer in " + std::to_string(lo) + ".." +
                           std::to_string(hi));
  return *v;
}

StatusOr<int64_t> ParseIntegerField(std::string_view field, std::string_view text, int64_t lo, int64_t hi) {
  const auto v = ParseDouble(text);
  if (!v)
    return InvalidArgument("'" + std::string(field) + "' must be an integer, got '" +
                           std::string(text.substr(0, 64)) + "'");
  return IntegerInRange(field, *v, lo, hi);
}

}  // namespace accel
