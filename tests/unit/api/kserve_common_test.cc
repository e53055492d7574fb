// KServe request parsing and rendering without a server: JSON (flat and nested), binary tensor data, BYTES
// framing, and the errors malformed messages must produce.
#include <gtest/gtest.h>

#include <cstring>

#include "api/kserve_common.h"
#include "api/kserve_http_api.h"

namespace accel {
namespace {

std::string Floats(std::initializer_list<float> values) {
  std::string out;
  for (float v : values) out.append(reinterpret_cast<const char*>(&v), 4);
  return out;
}

TEST(KServeBytes, RoundTripsLengthPrefixedElements) {
  std::string raw;
  AppendBytesElement(raw, "abc");
  AppendBytesElement(raw, "");
  AppendBytesElement(raw, std::string(300, 'x'));
  auto elements = SplitBytesElements(raw);
  ASSERT_TRUE(elements.ok()) << elements.status().ToString();
  ASSERT_EQ(elements->size(), 3u);
  EXPECT_EQ((*elements)[0], "abc");
  EXPECT_EQ((*elements)[1], "");
  EXPECT_EQ((*elements)[2].size(), 300u);
  EXPECT_EQ(static_cast<unsigned char>(raw[0]), 3);  // little-endian length
}

TEST(KServeBytes, RejectsTruncatedElements) {
  std::string raw;
  AppendBytesElement(raw, "abcdef");
  EXPECT_FALSE(SplitBytesElements(raw.substr(0, raw.size() - 1)).ok());
  EXPECT_FALSE(SplitBytesElements(raw.substr(0, 2)).ok());
}

TEST(KServeDatatypes, MapBothWays) {
  EXPECT_EQ(KServeDatatype(DType::kFloat32), "FP32");
  EXPECT_EQ(KServeDatatype(DType::kUInt8), "UINT8");
  EXPECT_EQ(*DTypeFromKServe("INT32"), DType::kInt32);
  EXPECT_FALSE(DTypeFromKServe("BYTES").ok());
  EXPECT_EQ(KServeElementSize("FP64"), 8u);
  EXPECT_EQ(KServeElementSize("BYTES"), 0u);
  EXPECT_FALSE(IsKnownKServeDatatype("FLOAT"));
}

TEST(KServeStatus, GrpcCodes) {
  EXPECT_EQ(GrpcCodeFor(StatusCode::kInvalidArgument), 3);
  EXPECT_EQ(GrpcCodeFor(StatusCode::kNotFound), 5);
  EXPECT_EQ(GrpcCodeFor(StatusCode::kResourceExhausted), 8);
  EXPECT_EQ(GrpcCodeFor(StatusCode::kUnavailable), 14);
  EXPECT_EQ(GrpcCodeFor(StatusCode::kInternal), 13);
}

TEST(KServeHttpParse, FlatAndNestedJsonGiveTheSameBytes) {
  KServeHttpParsed flat, nested;
  ASSERT_TRUE(ParseKServeHttpInfer(
                  R"({"inputs":[{"name":"x","datatype":"FP32","shape":[2,2],"data":[1,2,3,4.5]}]})", {}, flat)
                  .ok());
  ASSERT_TRUE(
      ParseKServeHttpInfer(
          R"({"inputs":[{"name":"x","datatype":"FP32","shape":[2,2],"data":[[1,2],[3,4.5]]}]})", {}, nested)
          .ok());
  ASSERT_EQ(flat.request.inputs.size(), 1u);
  EXPECT_EQ(flat.request.inputs[0].data, Floats({1, 2, 3, 4.5f}));
  EXPECT_EQ(nested.request.inputs[0].data, flat.request.inputs[0].data);
  EXPECT_EQ(flat.request.inputs[0].shape, (std::vector<int64_t>{2, 2}));
}

TEST(KServeHttpParse, BinaryDataFollowsTheJsonHeader) {
  const std::string header =
      R"({"id":"r1","inputs":[{"name":"a","datatype":"FP32","shape":[2],"parameters":{"binary_data_size":8}},)"
      R"({"name":"b","datatype":"UINT8","shape":[3],"parameters":{"binary_data_size":3}}],)"
      R"("outputs":[{"name":"o","parameters":{"binary_data":true}}]})";
  const std::string body = header + Floats({7, 8}) + std::string("\x01\x02\x03", 3);
  KServeHttpParsed p;
  Status s = ParseKServeHttpInfer(body, header.size(), p);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(p.request.id, "r1");
  EXPECT_EQ(p.request.inputs[0].data, Floats({7, 8}));
  EXPECT_EQ(p.request.inputs[1].data, std::string("\x01\x02\x03", 3));
  EXPECT_EQ(p.binary_outputs, std::vector<std::string>{"o"});
}

TEST(KServeHttpParse, MalformedRequestsAreInvalidArgument) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"{not json", "failed to parse"},
      {R"({"inputs":[]})", "non-empty 'inputs'"},
      {R"({"inputs":[{"name":"x","datatype":"FP32","shape":[3],"data":[1,2]}]})", "needs 3"},
      {R"({"inputs":[{"name":"x","datatype":"FLOAT","shape":[1],"data":[1]}]})", "unknown datatype"},
      {R"({"inputs":[{"name":"x","datatype":"UINT8","shape":[1],"data":[300]}]})", "in range"},
      {R"({"inputs":[{"name":"x","datatype":"INT32","shape":[1],"data":["a"]}]})", "not a number"},
      {R"({"inputs":[{"name":"x","datatype":"FP32","shape":[-1],"data":[1]}]})", "non-negative"},
      {R"({"inputs":[{"name":"x","datatype":"FP32","shape":[1],"parameters":{"binary_data_size":4}}]})",
       "Inference-Header-Content-Length"},
  };
  for (const auto& [body, needle] : cases) {
    KServeHttpParsed p;
    Status s = ParseKServeHttpInfer(body, {}, p);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << body;
    EXPECT_NE(s.message().find(needle), std::string::npos) << body << " -> " << s.message();
  }
}

TEST(KServeHttpParse, TruncatedAndExcessBinaryDataAreRejected) {
  const std::string header =
      R"({"inputs":[{"name":"a","datatype":"FP32","shape":[2],"parameters":{"binary_data_size":8}}]})";
  KServeHttpParsed p1, p2, p3;
  EXPECT_EQ(ParseKServeHttpInfer(header + "1234", header.size(), p1).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseKServeHttpInfer(header + Floats({1, 2}) + "x", header.size(), p2).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseKServeHttpInfer(header, header.size() + 10, p3).code(), StatusCode::kInvalidArgument);
}

TEST(KServeHttpRender, JsonOrBinaryOutputs) {
  KServeResponse r;
  r.model = "m";
  r.version = "1";
  r.outputs.push_back({"scores", "FP32", {2}, Floats({0.5f, 0.25f}), nullptr});
  r.outputs.push_back({"count", "INT32", {1}, std::string("\x02\x00\x00\x00", 4), nullptr});
  KServeHttpParsed json_only;
  std::optional<size_t> header_length;
  std::string body = RenderKServeHttpResponse(r, json_only, &header_length);
  EXPECT_FALSE(header_length);
  EXPECT_NE(body.find(R"("data":[0.5,0.25])"), std::string::npos) << body;
  EXPECT_NE(body.find(R"("data":[2])"), std::string::npos) << body;

  KServeHttpParsed binary;
  binary.binary_outputs = {"scores"};
  body = RenderKServeHttpResponse(r, binary, &header_length);
  ASSERT_TRUE(header_length);
  EXPECT_EQ(body.substr(*header_length), Floats({0.5f, 0.25f}));
  EXPECT_NE(body.substr(0, *header_length).find(R"("binary_data_size":8)"), std::string::npos);
}

TEST(KServeHttpParse, InferenceHeaderLength) {
  EXPECT_EQ(*ParseInferenceHeaderLength(""), std::nullopt);
  EXPECT_EQ(*ParseInferenceHeaderLength("123"), std::optional<size_t>(123));
  for (const char* bad : {"-1", "12a", " 1", "99999999999999999999999"})
    EXPECT_EQ(ParseInferenceHeaderLength(bad).status().code(), StatusCode::kInvalidArgument) << bad;
}

TEST(KServeHttpParse, ModelPath) {
  std::string model, version, action;
  ASSERT_TRUE(
      ParseKServeModelPath("/v2/models/a%2Fb/versions/3/infer/", "/v2/models/", model, version, action).ok());
  EXPECT_EQ(model, "a/b");
  EXPECT_EQ(version, "3");
  EXPECT_EQ(action, "infer");
  ASSERT_TRUE(ParseKServeModelPath("/v2/models/m", "/v2/models/", model, version, action).ok());
  EXPECT_EQ(action, "");
  EXPECT_EQ(ParseKServeModelPath("/v2/models/", "/v2/models/", model, version, action).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseKServeModelPath("/v2/models/m/x/y", "/v2/models/", model, version, action).code(),
            StatusCode::kNotFound);
  EXPECT_EQ(ParseKServeModelPath("/v2/models/%zz/infer", "/v2/models/", model, version, action).code(),
            StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace accel
