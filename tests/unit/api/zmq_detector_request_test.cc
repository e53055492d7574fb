// The zmq detector protocol's message handling without sockets: envelope split and request parsing.
#include "api/zmq_detector_request.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <string>

namespace accel {
namespace {

std::string Floats(std::initializer_list<float> values) {
  std::string out;
  for (float v : values) out.append(reinterpret_cast<const char*>(&v), sizeof v);
  return out;
}

TEST(ZmqEnvelopeTest, ReqPeerEnvelopeEndsAtTheDelimiter) {
  ZmqMessage m = SplitZmqEnvelope({"peer", "", "{}", "tensor"});
  EXPECT_EQ(m.envelope, (ZmqFrames{"peer", ""}));
  EXPECT_EQ(m.body, (ZmqFrames{"{}", "tensor"}));
}

TEST(ZmqEnvelopeTest, WithoutDelimiterOnlyTheIdentityIsTheEnvelope) {
  ZmqMessage m = SplitZmqEnvelope({"peer", "{}", "tensor"});
  EXPECT_EQ(m.envelope, (ZmqFrames{"peer"}));
  EXPECT_EQ(m.body, (ZmqFrames{"{}", "tensor"}));
}

TEST(ZmqEnvelopeTest, EmptyMessageHasNeither) {
  ZmqMessage m = SplitZmqEnvelope({});
  EXPECT_TRUE(m.envelope.empty());
  EXPECT_TRUE(m.body.empty());
  m = SplitZmqEnvelope({"peer", ""});
  EXPECT_EQ(m.envelope.size(), 2u);
  EXPECT_TRUE(m.body.empty());
}

TEST(ZmqRequestTest, ModelRequestAndUpload) {
  auto r = ParseZmqRequest({R"({"model_request": true, "model_name": "x"})"}, {});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->kind, ZmqRequest::Kind::kModelRequest);
  r = ParseZmqRequest({R"({"model_data": true})", "bytes"}, {});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->kind, ZmqRequest::Kind::kModelData);
}

TEST(ZmqRequestTest, MalformedHeadersNameTheProblem) {
  EXPECT_EQ(ParseZmqRequest({}, {}).status().message(), "empty request");
  EXPECT_EQ(ParseZmqRequest({"[1]", "x"}, {}).status().message(),
            "the first frame must be a JSON object header");
  auto typed = ParseZmqRequest({R"({"model_request": "yes"})"}, {});
  EXPECT_EQ(typed.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(typed.status().message().find("model_request"), std::string::npos);
  EXPECT_EQ(ParseZmqRequest({R"({"shape": [1, 1, 1, 3], "dtype": "uint8"})"}, {}).status().message(),
            "expected 2 frames [header, tensor], got 1");
}

TEST(ZmqRequestTest, Uint8NhwcAndBgr) {
  const std::string pixels = {1, 2, 3, 4, 5, 6};  // 1x2 pixels, RGB
  auto rgb = ParseZmqRequest({R"({"shape": [1, 1, 2, 3], "dtype": "uint8"})", pixels}, {});
  ASSERT_TRUE(rgb.ok()) << rgb.status().ToString();
  EXPECT_EQ(rgb->kind, ZmqRequest::Kind::kDetect);
  EXPECT_EQ(rgb->image.width, 2);
  EXPECT_EQ(rgb->image.height, 1);
  EXPECT_EQ(rgb->image.rgb, (std::vector<uint8_t>{1, 2, 3, 4, 5, 6}));
  ZmqRequestOptions bgr;
  bgr.bgr = true;
  auto swapped = ParseZmqRequest({R"({"shape": [1, 2, 3], "dtype": "uint8"})", pixels}, bgr);
  ASSERT_TRUE(swapped.ok()) << swapped.status().ToString();
  EXPECT_EQ(swapped->image.rgb, (std::vector<uint8_t>{3, 2, 1, 6, 5, 4}));
}

TEST(ZmqRequestTest, FloatNchwInZeroToOneIsScaled) {
  // [1,3,1,2]: R plane, G plane, B plane.
  auto r = ParseZmqRequest(
      {R"({"shape": [1, 3, 1, 2], "dtype": "float32"})", Floats({0.0f, 1.0f, 0.5f, 0.5f, 1.0f, 0.0f})}, {});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->image.rgb, (std::vector<uint8_t>{0, 128, 255, 255, 128, 0}));
  auto denorm = ParseZmqRequest({R"({"shape": [1, 1, 3], "dtype": "float32"})", Floats({10, 200, 255})}, {});
  ASSERT_TRUE(denorm.ok()) << denorm.status().ToString();
  EXPECT_EQ(denorm->image.rgb, (std::vector<uint8_t>{10, 200, 255}));
}

TEST(ZmqRequestTest, TensorChecks) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  EXPECT_EQ(ParseZmqRequest({R"({"shape": [1, 1, 3], "dtype": "float32"})", Floats({0, nan, 0})}, {})
                .status()
                .message(),
            "tensor holds a non-finite value");
  EXPECT_EQ(ParseZmqRequest({R"({"shape": [1, 1, 3], "dtype": "uint8"})", "ab"}, {}).status().message(),
            "tensor has 2 bytes; shape [1,1,3] of uint8 needs 3");
  EXPECT_EQ(ParseZmqRequest({R"({"shape": [2, 2], "dtype": "uint8"})", "abcd"}, {}).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseZmqRequest({R"({"shape": [1, 1, 3], "dtype": "int8"})", "abc"}, {}).status().code(),
            StatusCode::kInvalidArgument);
  // Over the limits: refused from the shape, before the (absent) data is looked at.
  ZmqRequestOptions small;
  small.limits.max_width = 4;
  EXPECT_EQ(ParseZmqRequest({R"({"shape": [1, 5, 3], "dtype": "uint8"})", ""}, small).status().code(),
            StatusCode::kPayloadTooLarge);
}

}  // namespace
}  // namespace accel
