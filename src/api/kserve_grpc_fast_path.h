// Zero-copy helpers for the KServe gRPC raw-tensor path: protobuf wire format read and written by hand, only
// for the one field that carries megabytes (ModelInferRequest.raw_input_contents = 7, ModelInferResponse.
// raw_output_contents = 6, both `repeated bytes`, wire type 2). Everything else still goes through protobuf.
//
// Why: the generated code parses raw_input_contents into a std::string (one 2 MiB copy) that the backend then
// copies into the input Tensor, and serialises raw_output_contents from a std::string that the backend
// gathered from the output Tensor (two more copies). With these helpers the request bytes go from gRPC's
// slices straight into the Tensor (one copy) and the response references the output Tensor (no copy).
//
// No gRPC header here, so it is unit-testable on plain byte segments. Thread-compatible, no global state.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace accel {

inline constexpr uint32_t kRawInputContentsField = 7;   // ModelInferRequest.raw_input_contents
inline constexpr uint32_t kRawOutputContentsField = 6;  // ModelInferResponse.raw_output_contents

// A protobuf message's wire bytes as non-contiguous segments (gRPC delivers large messages in many slices).
// Offsets below are positions in the logical concatenation of the segments.
class WireSegments {
 public:
  explicit WireSegments(std::vector<std::string_view> segments);
  size_t size() const { return total_; }
  // Copies [offset, offset + n) to `dst`. Precondition: offset + n <= size().
  void CopyOut(size_t offset, size_t n, void* dst) const;
  void AppendTo(size_t offset, size_t n, std::string& out) const;

 private:
  std::vector<std::string_view> segments_;
  std::vector<size_t> starts_;  // starts_[i]: offset of segments_[i]
  size_t total_ = 0;
};

struct WireRange {
  size_t offset = 0;
  size_t size = 0;
};

// A top-level message split into the occurrences of one length-delimited field (their payload ranges, in
// order) and everything else (the other fields' bytes, verbatim and in order: itself a valid serialisation of
// the message without that field, so protobuf can parse it).
struct SplitMessage {
  std::string rest;
  std::vector<WireRange> field;
};

// Walks the top-level fields of `wire`. InvalidArgument for anything that is not well-formed protobuf wire
// format (truncated or over-long varints, lengths past the end, field number 0, group or reserved wire
// types) and for `field_number` occurring with a wire type other than 2. Never reads out of bounds.
StatusOr<SplitMessage> SplitLengthDelimitedField(const WireSegments& wire, uint32_t field_number);

// The tag and length varint that precede a length-delimited field's payload of `length` bytes.
std::string LengthDelimitedPrefix(uint32_t field_number, uint64_t length);

}  // namespace accel
