// JSON that a client sent: parsed and read only through these helpers, by every front end (seed API,
// DeepStack, KServe, zmq). nlohmann's checked accessors throw on a wrong type (`value("x", false)` on a
// number) and its dump/copy recurse once per nesting level, so a 19-byte header or a 100 KB body of
// brackets could abort the process. Here: no exceptions, nesting bounded before parsing, types checked
// with an error that names the field.
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <string_view>

#include "core/status.h"

namespace accel {

// Deeper than any real request (KServe nests 3-4 levels, the seed's image array 3) and far below what
// would exhaust an I/O thread's stack in a recursive walk.
inline constexpr int kMaxClientJsonDepth = 64;

// Parses `text` (what: "request body", "zmq header", ... for the error). Rejects invalid JSON and nesting
// deeper than `max_depth` with InvalidArgument; never throws.
StatusOr<nlohmann::json> ParseClientJson(std::string_view text, std::string_view what,
                                         int max_depth = kMaxClientJsonDepth);

// Nesting depth of the arrays and objects in `text` (brackets inside strings do not count); stops counting
// once it passes `limit`. Linear, no allocation.
int JsonNestingDepth(std::string_view text, int limit);

// Field accessors on an object: a missing or null field is nullopt; a field of the wrong type is
// InvalidArgument naming it. `object` that is not an object reads as having no fields.
StatusOr<std::optional<bool>> OptionalBool(const nlohmann::json& object, std::string_view key);
StatusOr<std::optional<std::string>> OptionalString(const nlohmann::json& object, std::string_view key);
// Returns the field when present and of `type` (array or object), without copying it.
StatusOr<const nlohmann::json*> OptionalField(const nlohmann::json& object, std::string_view key,
                                              nlohmann::json::value_t type);

}  // namespace accel
