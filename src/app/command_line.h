// The one option mechanism of every `accel` subcommand (serve, infer, devices, bench): a table of options,
// each with its flag, optional environment variable, value name, help text and how to apply a value. The
// same table parses the command line and prints --help, so the two cannot drift apart.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace accel {

struct CommandOption {
  std::string flag;        // "--models"
  std::string env;         // environment variable read before the flags ("" for none)
  std::string value_name;  // "DIR"; empty: a switch that takes no value (applied with "true")
  std::string help;
  // Applies one value (each occurrence, in order); an error names what is wrong with the value.
  std::function<Status(const std::string& value)> apply;
};

// Applies the environment variables of `options` (when `read_env`), then `args`: "--flag VALUE",
// "--flag=VALUE", switches. Returns the positional arguments in order. An unknown flag, a missing value or a
// value the option refuses is InvalidArgument naming the flag (or variable).
StatusOr<std::vector<std::string>> ParseCommandLine(std::string_view command,
                                                    const std::vector<CommandOption>& options,
                                                    const std::vector<std::string>& args, bool read_env);

// "usage: accel <synopsis>", the description, then one line per option with its variable.
std::string CommandUsage(std::string_view synopsis, std::string_view description,
                         const std::vector<CommandOption>& options);

// Appliers for common value types. Numbers are parsed by core/numbers.h and range-checked; `name` is used
// in the error ("port must be in 0..65535").
std::function<Status(const std::string&)> StringValue(std::string* out);
std::function<Status(const std::string&)> BoolValue(std::string name, bool* out);
std::function<Status(const std::string&)> IntValue(std::string name, int* out, int lo, int hi);
std::function<Status(const std::string&)> Int64Value(std::string name, int64_t* out, int64_t lo, int64_t hi);
std::function<Status(const std::string&)> DoubleValue(std::string name, double* out, double lo, double hi);

}  // namespace accel
