// A minimal protobuf wire-format reader and writer, enough to edit an ONNX ModelProto in memory without the
// ONNX .proto (not packaged for C++ in Debian) or generated code. Field numbers used with it are facts of
// onnx.proto; see onnx_graph_rewrite.cc.
//
// A message is read as a flat list of fields, each keeping a view of its encoded value, so a rewrite can
// change the few fields it understands and write every other field back byte for byte.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace accel::onnx_wire {

enum WireType : int { kVarint = 0, kFixed64 = 1, kLengthDelimited = 2, kFixed32 = 5 };

// One field of a message. For kLengthDelimited, `bytes` is the payload (a string, bytes, a sub-message or a
// packed array); for kFixed32/kFixed64 the raw little-endian bytes; for kVarint, `varint`.
struct Field {
  uint32_t number = 0;
  int wire_type = kVarint;
  uint64_t varint = 0;
  std::string_view bytes;
};

// Splits the message in `data` into its fields, in order. Bounds-checked: truncated or malformed input is
// InvalidArgument, never a read past `data`. The views point into `data`.
StatusOr<std::vector<Field>> ParseMessage(std::string_view data);

// Reads a varint at `*at` in `data`, advancing `*at`; false when truncated.
bool ReadVarint(std::string_view data, size_t* at, uint64_t* value);
// Appends a repeated integer field's values to `out`: one value (varint wire type) or a packed run
// (length-delimited). False for another wire type or a truncated run.
bool AppendVarints(const Field& field, std::vector<int64_t>& out);

void AppendVarint(std::string& out, uint64_t value);
void AppendField(std::string& out, const Field& field);  // re-encodes a parsed field unchanged
void AppendVarintField(std::string& out, uint32_t number, uint64_t value);
void AppendBytesField(std::string& out, uint32_t number, std::string_view payload);

}  // namespace accel::onnx_wire
