// Engine options: the key=value map a factory's Create receives, the specs with which each factory
// declares the keys it accepts (type, range, default, help), and the one validation of a map against
// specs. Engines own their configuration, as ONNX Runtime's execution providers do with their option
// structs: the command line of `accel serve` (flags --<kind>-<key>, variables <KIND>_<KEY>) is generated
// from the specs, and nothing above src/engines/ knows what a key means.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace accel {

struct EngineOptions {
  // Engine-specific key=value options from configuration (threads, batch size...), values as text.
  std::map<std::string, std::string> values;
  std::string Get(const std::string& key, const std::string& fallback = {}) const;
};

enum class EngineOptionType { kInt, kBool, kString };

struct EngineOptionSpec {
  std::string key;  // "batch_size": lower case and '_', so that flag and variable names follow from it
  EngineOptionType type = EngineOptionType::kString;
  // Value used when the option is not given, as text of `type`; "" for none (the engine decides, and
  // `help` says how).
  std::string default_value;
  std::string help;
  int64_t min = 0;  // kInt: accepted range, inclusive
  int64_t max = 0;
};

// Options checked against their specs: every key is declared and every value parses as its type and lies
// in its range. Read-only; any thread.
class ValidatedEngineOptions {
 public:
  // Whether the option was given (a default does not count).
  bool Has(const std::string& key) const;
  // The given value, else the spec's default; a key without either yields 0 / false / "". Asking for a key
  // the specs do not declare, or as another type, is a programming error (it yields the same empties).
  int64_t Int(const std::string& key) const;
  bool Bool(const std::string& key) const;
  std::string String(const std::string& key) const;

 private:
  friend StatusOr<ValidatedEngineOptions> ValidateEngineOptions(std::string_view,
                                                                const std::vector<EngineOptionSpec>&,
                                                                const EngineOptions&);
  const EngineOptionSpec* Spec(const std::string& key, EngineOptionType type) const;
  std::string Text(const EngineOptionSpec& spec) const;

  std::vector<EngineOptionSpec> specs_;
  EngineOptions given_;
};

// Checks one value against its spec. The error is InvalidArgument naming "<kind>.<key>".
Status CheckEngineOptionValue(std::string_view kind, const EngineOptionSpec& spec, const std::string& text);

// Checks `options` against `specs`: an undeclared key or a bad value is InvalidArgument naming
// "<kind>.<key>". Every factory's Create starts with it.
StatusOr<ValidatedEngineOptions> ValidateEngineOptions(std::string_view kind,
                                                       const std::vector<EngineOptionSpec>& specs,
                                                       const EngineOptions& options);

// "N", "BOOL" or "VALUE": the placeholder a usage text shows for the spec's value.
std::string_view EngineOptionValueName(const EngineOptionSpec& spec);

}  // namespace accel
