#include "engines/engine_options.h"

#include "core/numbers.h"
#include "core/strings.h"

namespace accel {

std::string EngineOptions::Get(const std::string& key, const std::string& fallback) const {
  auto it = values.find(key);
  return it == values.end() ? fallback : it->second;
}

Status CheckEngineOptionValue(std::string_view kind, const EngineOptionSpec& spec, const std::string& text) {
  const std::string name = std::string(kind) + "." + spec.key;
  switch (spec.type) {
    case EngineOptionType::kInt: {
      const auto n = ParseInt64(text);
      if (!n) return InvalidArgument(name + " must be an integer, got '" + text.substr(0, 64) + "'");
      if (*n < spec.min || *n > spec.max)
        return InvalidArgument(name + " must be in " + std::to_string(spec.min) + ".." +
                               std::to_string(spec.max) + ", got " + text);
      return Status::Ok();
    }
    case EngineOptionType::kBool:
      if (!ParseBool(text).ok())
        return InvalidArgument(name + " must be true or false, got '" + text.substr(0, 64) + "'");
      return Status::Ok();
    case EngineOptionType::kString:
      return Status::Ok();
  }
  return Status::Ok();
}

StatusOr<ValidatedEngineOptions> ValidateEngineOptions(std::string_view kind,
                                                       const std::vector<EngineOptionSpec>& specs,
                                                       const EngineOptions& options) {
  for (const auto& [key, value] : options.values) {
    const EngineOptionSpec* spec = nullptr;
    for (const auto& s : specs)
      if (s.key == key) spec = &s;
    if (spec == nullptr)
      return InvalidArgument(std::string(kind) + "." + key + " is not an option of this engine");
    ACCEL_RETURN_IF_ERROR(CheckEngineOptionValue(kind, *spec, value));
  }
  ValidatedEngineOptions out;
  out.specs_ = specs;
  out.given_ = options;
  return out;
}

bool ValidatedEngineOptions::Has(const std::string& key) const { return given_.values.count(key) > 0; }

const EngineOptionSpec* ValidatedEngineOptions::Spec(const std::string& key, EngineOptionType type) const {
  for (const auto& s : specs_)
    if (s.key == key && s.type == type) return &s;
  return nullptr;
}

std::string ValidatedEngineOptions::Text(const EngineOptionSpec& spec) const {
  return given_.Get(spec.key, spec.default_value);
}

int64_t ValidatedEngineOptions::Int(const std::string& key) const {
  const EngineOptionSpec* spec = Spec(key, EngineOptionType::kInt);
  if (spec == nullptr) return 0;
  return ParseInt64(Text(*spec)).value_or(0);
}

bool ValidatedEngineOptions::Bool(const std::string& key) const {
  const EngineOptionSpec* spec = Spec(key, EngineOptionType::kBool);
  if (spec == nullptr) return false;
  auto b = ParseBool(Text(*spec));
  return b.ok() && *b;
}

std::string ValidatedEngineOptions::String(const std::string& key) const {
  const EngineOptionSpec* spec = Spec(key, EngineOptionType::kString);
  return spec == nullptr ? std::string() : Text(*spec);
}

std::string_view EngineOptionValueName(const EngineOptionSpec& spec) {
  switch (spec.type) {
    case EngineOptionType::kInt:
      return "N";
    case EngineOptionType::kBool:
      return "BOOL";
    case EngineOptionType::kString:
      return "VALUE";
  }
  return "VALUE";
}

}  // namespace accel
