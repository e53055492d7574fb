#include "app/command_line.h"

#include <cstdlib>
#include <sstream>

#include "core/numbers.h"
#include "core/strings.h"

namespace accel {

StatusOr<std::vector<std::string>> ParseCommandLine(std::string_view command,
                                                    const std::vector<CommandOption>& options,
                                                    const std::vector<std::string>& args, bool read_env) {
  if (read_env) {
    for (const auto& opt : options) {
      if (opt.env.empty()) continue;
      if (const char* v = std::getenv(opt.env.c_str()); v != nullptr && *v != '\0') {
        Status s = opt.apply(v);
        if (!s.ok()) return s.WithContext("environment variable " + opt.env);
      }
    }
  }
  std::vector<std::string> positional;
  for (size_t i = 0; i < args.size(); ++i) {
    std::string flag = args[i];
    if (flag.size() < 2 || flag[0] != '-') {
      positional.push_back(flag);
      continue;
    }
    std::string value;
    bool has_value = false;
    if (auto eq = flag.find('='); eq != std::string::npos && flag.rfind("--", 0) == 0) {
      value = flag.substr(eq + 1);
      flag = flag.substr(0, eq);
      has_value = true;
    }
    const CommandOption* match = nullptr;
    for (const auto& opt : options)
      if (opt.flag == flag) match = &opt;
    if (!match)
      return InvalidArgument("unknown option '" + args[i] + "' (see accel " + std::string(command) +
                             " --help)");
    if (match->value_name.empty()) {
      if (has_value) return InvalidArgument(flag + " takes no value");
      value = "true";
    } else if (!has_value) {
      if (i + 1 >= args.size()) return InvalidArgument(flag + " needs a value (" + match->value_name + ")");
      value = args[++i];
    }
    Status s = match->apply(value);
    if (!s.ok()) return s.WithContext(flag);
  }
  return positional;
}

std::string CommandUsage(std::string_view synopsis, std::string_view description,
                         const std::vector<CommandOption>& options) {
  constexpr size_t kColumn = 30;
  constexpr size_t kWidth = 110;
  std::ostringstream out;
  out << "usage: accel " << synopsis << "\n\n" << description << "\n";
  for (const auto& opt : options) {
    std::string left = "  " + opt.flag + (opt.value_name.empty() ? "" : " " + opt.value_name);
    out << left;
    if (left.size() < kColumn)
      out << std::string(kColumn - left.size(), ' ');
    else
      out << "\n" << std::string(kColumn, ' ');
    std::string help = opt.help;
    if (!opt.env.empty()) help += " [env " + opt.env + "]";
    // Word-wrapped into the help column, so --help reads in a terminal of kWidth columns.
    size_t column = kColumn;
    std::istringstream words(help);
    bool first = true;
    for (std::string word; words >> word; first = false) {
      if (!first && column + 1 + word.size() > kWidth) {
        out << "\n" << std::string(kColumn, ' ');
        column = kColumn;
      } else if (!first) {
        out << ' ';
        ++column;
      }
      out << word;
      column += word.size();
    }
    out << "\n";
  }
  return out.str();
}

std::function<Status(const std::string&)> StringValue(std::string* out) {
  return [out](const std::string& v) {
    *out = v;
    return Status::Ok();
  };
}

std::function<Status(const std::string&)> BoolValue(std::string name, bool* out) {
  return [name = std::move(name), out](const std::string& v) -> Status {
    auto b = ParseBool(v);
    if (!b.ok()) return b.status().WithContext(name);
    *out = *b;
    return Status::Ok();
  };
}

std::function<Status(const std::string&)> Int64Value(std::string name, int64_t* out, int64_t lo, int64_t hi) {
  return [name = std::move(name), out, lo, hi](const std::string& v) -> Status {
    const auto n = ParseInt64(v);
    if (!n) return InvalidArgument(name + " must be an integer, got '" + v + "'");
    if (*n < lo || *n > hi)
      return InvalidArgument(name + " must be in " + std::to_string(lo) + ".." + std::to_string(hi));
    *out = *n;
    return Status::Ok();
  };
}

std::function<Status(const std::string&)> IntValue(std::string name, int* out, int lo, int hi) {
  return [name = std::move(name), out, lo, hi](const std::string& v) -> Status {
    int64_t n = 0;
    ACCEL_RETURN_IF_ERROR(Int64Value(name, &n, lo, hi)(v));
    *out = static_cast<int>(n);
    return Status::Ok();
  };
}

std::function<Status(const std::string&)> DoubleValue(std::string name, double* out, double lo, double hi) {
  return [name = std::move(name), out, lo, hi](const std::string& v) -> Status {
    ACCEL_ASSIGN_OR_RETURN(*out, ParseNumberField(name, v, lo, hi));
    return Status::Ok();
  };
}

}  // namespace accel
