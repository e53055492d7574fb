// The hand-written wire-format reader/writer of the gRPC zero-copy path, checked against protobuf itself.
#include "api/kserve_grpc_fast_path.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "grpc_service.pb.h"

namespace accel {
namespace {

// `wire` cut into pieces of `piece` bytes (gRPC delivers large messages as many slices).
std::vector<std::string_view> Cut(const std::string& wire, size_t piece) {
  std::vector<std::string_view> out;
  for (size_t i = 0; i < wire.size(); i += piece) out.push_back(std::string_view(wire).substr(i, piece));
  return out;
}

inference::ModelInferRequest SampleRequest() {
  inference::ModelInferRequest r;
  r.set_model_name("yolox-nano");
  r.set_id("req-1");
  (*r.mutable_parameters())["engine"].set_string_param("cpu");
  auto* in = r.add_inputs();
  in->set_name("images");
  in->set_datatype("FP32");
  for (int64_t d : {1, 3, 4, 5}) in->add_shape(d);
  std::string raw(1 * 3 * 4 * 5 * 4, '\0');
  for (size_t i = 0; i < raw.size(); ++i) raw[i] = static_cast<char>(i * 7 + 1);
  r.add_raw_input_contents(raw);
  r.add_outputs()->set_name("output");
  return r;
}

TEST(KServeGrpcFastPath, SplitsRawContentsFromTheRestAcrossAnySegmentation) {
  const inference::ModelInferRequest request = SampleRequest();
  const std::string wire = request.SerializeAsString();
  for (size_t piece : {size_t{1}, size_t{3}, size_t{7}, size_t{64}, wire.size()}) {
    WireSegments segments(Cut(wire, piece));
    ASSERT_EQ(segments.size(), wire.size());
    auto split = SplitLengthDelimitedField(segments, kRawInputContentsField);
    ASSERT_TRUE(split.ok()) << split.status().ToString();
    ASSERT_EQ(split->field.size(), 1u);
    std::string raw;
    segments.AppendTo(split->field[0].offset, split->field[0].size, raw);
    EXPECT_EQ(raw, request.raw_input_contents(0)) << "piece " << piece;
    inference::ModelInferRequest rest;
    ASSERT_TRUE(rest.ParseFromString(split->rest));
    EXPECT_EQ(rest.raw_input_contents_size(), 0);
    inference::ModelInferRequest expected = request;
    expected.clear_raw_input_contents();
    EXPECT_EQ(rest.SerializeAsString(), expected.SerializeAsString());
  }
}

TEST(KServeGrpcFastPath, KeepsEveryOccurrenceInOrder) {
  inference::ModelInferRequest request;
  request.add_raw_input_contents("first");
  request.set_model_name("m");
  request.add_raw_input_contents("");
  request.add_raw_input_contents(std::string(300, 'x'));  // two-byte length varint
  const std::string wire = request.SerializeAsString();
  WireSegments segments(Cut(wire, 5));
  auto split = SplitLengthDelimitedField(segments, kRawInputContentsField);
  ASSERT_TRUE(split.ok());
  ASSERT_EQ(split->field.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    std::string raw;
    segments.AppendTo(split->field[i].offset, split->field[i].size, raw);
    EXPECT_EQ(raw, request.raw_input_contents(i));
  }
}

TEST(KServeGrpcFastPath, EncodedResponseParsesWithProtobuf) {
  inference::ModelInferResponse header;
  header.set_model_name("m");
  header.add_outputs()->set_name("output");
  std::string payload(200000, '\0');  // a three-byte length varint
  for (size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<char>(i % 251);
  std::string wire = header.SerializeAsString() +
                     LengthDelimitedPrefix(kRawOutputContentsField, payload.size()) + payload +
                     LengthDelimitedPrefix(kRawOutputContentsField, 0);
  inference::ModelInferResponse parsed;
  ASSERT_TRUE(parsed.ParseFromString(wire));
  EXPECT_EQ(parsed.model_name(), "m");
  ASSERT_EQ(parsed.raw_output_contents_size(), 2);
  EXPECT_EQ(parsed.raw_output_contents(0), payload);
  EXPECT_EQ(parsed.raw_output_contents(1), "");
}

void ExpectInvalid(const std::string& wire, const char* what) {
  for (size_t piece : {size_t{1}, size_t{2}, std::max<size_t>(wire.size(), 1)}) {
    WireSegments segments(Cut(wire, piece));
    auto split = SplitLengthDelimitedField(segments, kRawInputContentsField);
    ASSERT_FALSE(split.ok()) << what;
    EXPECT_EQ(split.status().code(), StatusCode::kInvalidArgument) << what;
  }
}

TEST(KServeGrpcFastPath, MalformedWireIsInvalidArgument) {
  ExpectInvalid(std::string("\x0a", 1), "tag without length");
  ExpectInvalid(std::string("\x0a\x80", 2), "truncated length varint");
  ExpectInvalid(std::string("\x80", 1), "truncated tag varint");
  ExpectInvalid(std::string("\x0a\x05"
                            "abc",
                            5),
                "length past the end");
  ExpectInvalid(std::string("\x3a\xff\xff\xff\xff\x0f", 6), "raw contents length past the end");
  ExpectInvalid(std::string("\x38\x01", 2), "field 7 as a varint (wrong wire type)");
  ExpectInvalid(std::string("\x3d\x01\x02\x03\x04", 5), "field 7 as fixed32 (wrong wire type)");
  ExpectInvalid(std::string("\x0b", 1), "start-group wire type");
  ExpectInvalid(std::string("\x0e\x00", 2), "reserved wire type 6");
  ExpectInvalid(std::string("\x02\x00", 2), "field number 0");
  ExpectInvalid(std::string("\x08\xff\xff\xff\xff\xff\xff\xff\xff\xff\x7f", 11), "varint over 64 bits");
  ExpectInvalid(std::string("\x08\x80\x80", 3), "truncated varint value");
  ExpectInvalid(std::string("\x09\x01\x02\x03", 4), "truncated fixed64");
  ExpectInvalid(std::string("\x0d\x01", 2), "truncated fixed32");
}

TEST(KServeGrpcFastPath, EveryTruncationOfAValidRequestIsHandled) {
  const std::string wire = SampleRequest().SerializeAsString();
  for (size_t n = 0; n <= wire.size(); ++n) {
    const std::string cut = wire.substr(0, n);
    WireSegments segments(Cut(cut, 3));
    auto split = SplitLengthDelimitedField(segments, kRawInputContentsField);
    // A prefix may end on a field boundary (then it is a valid, shorter message); otherwise it is refused.
    inference::ModelInferRequest check;
    const bool protobuf_ok = check.ParseFromString(cut);
    EXPECT_EQ(split.ok(), protobuf_ok) << "prefix " << n << ": " << split.status().ToString();
    if (!split.ok()) {
      EXPECT_EQ(split.status().code(), StatusCode::kInvalidArgument);
    }
  }
}

}  // namespace
}  // namespace accel
