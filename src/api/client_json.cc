#include "api/client_json.h"

namespace accel {

using nlohmann::json;

int JsonNestingDepth(std::string_view text, int limit) {
  int depth = 0;
  int deepest = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\')
        ++i;  // skip the escaped character, which may be a quote
      else if (c == '"')
        in_string = false;
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > deepest) deepest = depth;
      if (deepest > limit) return deepest;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return deepest;
}

StatusOr<json> ParseClientJson(std::string_view text, std::string_view what, int max_depth) {
  if (JsonNestingDepth(text, max_depth) > max_depth)
    return InvalidArgument(std::string(what) + " nests JSON deeper than " + std::to_string(max_depth) +
                           " levels");
  json j = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return InvalidArgument(std::string(what) + " is not valid JSON");
  return j;
}

namespace {
const json* Find(const json& object, std::string_view key) {
  if (!object.is_object()) return nullptr;
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return nullptr;
  return &*it;
}

Status WrongType(std::string_view key, const char* want) {
  return InvalidArgument("'" + std::string(key) + "' must be " + want);
}
}  // namespace

StatusOr<std::optional<bool>> OptionalBool(const json& object, std::string_view key) {
  const json* v = Find(object, key);
  if (!v) return std::optional<bool>();
  if (!v->is_boolean()) return WrongType(key, "a boolean");
  return std::optional<bool>(v->get<bool>());
}

StatusOr<std::optional<std::string>> OptionalString(const json& object, std::string_view key) {
  const json* v = Find(object, key);
  if (!v) return std::optional<std::string>();
  if (!v->is_string()) return WrongType(key, "a string");
  return std::optional<std::string>(v->get<std::string>());
}

StatusOr<const json*> OptionalField(const json& object, std::string_view key, json::value_t type) {
  const json* v = Find(object, key);
  if (!v) return static_cast<const json*>(nullptr);
  if (v->type() != type) return WrongType(key, type == json::value_t::array ? "an array" : "an object");
  return v;
}

}  // namespace accel
