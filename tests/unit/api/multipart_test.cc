#include "api/multipart.h"

#include <gtest/gtest.h>

namespace accel {
namespace {

const std::string kType = "multipart/form-data; boundary=XyZ123";

TEST(MultipartTest, TwoPartsWithFileAndField) {
  std::string body =
      "--XyZ123\r\n"
      "Content-Disposition: form-data; name=\"image\"; filename=\"cat.jpg\"\r\n"
      "Content-Type: image/jpeg\r\n"
      "\r\n"
      "\xff\xd8\xff\r\n--not-the-boundary\r\n\xff\xd9\r\n"
      "--XyZ123\r\n"
      "Content-Disposition: form-data; name=min_confidence\r\n"
      "\r\n"
      "0.4\r\n"
      "--XyZ123--\r\n";
  auto parts = ParseMultipart(body, kType);
  ASSERT_TRUE(parts.ok()) << parts.status().ToString();
  ASSERT_EQ(parts->size(), 2u);
  const MultipartPart& image = (*parts)[0];
  EXPECT_EQ(image.name, "image");
  EXPECT_EQ(image.filename, "cat.jpg");
  EXPECT_EQ(image.content_type, "image/jpeg");
  EXPECT_EQ(image.data, "\xff\xd8\xff\r\n--not-the-boundary\r\n\xff\xd9");
  EXPECT_GE(image.data.data(), body.data());  // a view into the body
  EXPECT_LE(image.data.data() + image.data.size(), body.data() + body.size());
  EXPECT_EQ((*parts)[1].name, "min_confidence");
  EXPECT_EQ((*parts)[1].data, "0.4");
  EXPECT_EQ((*parts)[1].content_type, "");
  EXPECT_EQ(FindPart(*parts, "min_confidence"), &(*parts)[1]);
  EXPECT_EQ(FindPart(*parts, "nope"), nullptr);
}

TEST(MultipartTest, QuotedBoundaryPreambleEpilogueAndBareLf) {
  std::string body =
      "This is a preamble.\r\n"
      "--a b:c\n"
      "content-disposition: form-data; name=\"f\"; filename=\"x;y.png\"\n"
      "\n"
      "DATA\n"
      "--a b:c--\n"
      "epilogue --a b:c garbage";
  auto parts = ParseMultipart(body, "Multipart/Form-Data; charset=utf-8; boundary=\"a b:c\"");
  ASSERT_TRUE(parts.ok()) << parts.status().ToString();
  ASSERT_EQ(parts->size(), 1u);
  EXPECT_EQ((*parts)[0].filename, "x;y.png");
  EXPECT_EQ((*parts)[0].data, "DATA");
}

TEST(MultipartTest, EmptyPartsAndTransportPadding) {
  std::string body =
      "--B  \r\n"
      "Content-Disposition: form-data; name=\"empty\"\r\n"
      "\r\n"
      "\r\n"
      "--B\r\n"
      "Content-Disposition: form-data; name=\"utf\"; filename*=UTF-8''na%C3%AFve.jpg\r\n"
      "\r\n"
      "x\r\n"
      "--B--";
  auto parts = ParseMultipart(body, "multipart/form-data; boundary=B");
  ASSERT_TRUE(parts.ok()) << parts.status().ToString();
  ASSERT_EQ(parts->size(), 2u);
  EXPECT_EQ((*parts)[0].data, "");
  EXPECT_EQ((*parts)[1].filename, "na\xc3\xafve.jpg");
  EXPECT_EQ((*parts)[1].data, "x");
}

TEST(MultipartTest, NoPartsAtAll) {
  auto parts = ParseMultipart("--B--\r\n", "multipart/form-data; boundary=B");
  ASSERT_TRUE(parts.ok());
  EXPECT_TRUE(parts->empty());
  // A longer boundary that merely starts with ours is preamble, not a delimiter.
  auto preamble_only = ParseMultipart("--Bxyz\r\n\r\nx\r\n--B--", "multipart/form-data; boundary=B");
  ASSERT_TRUE(preamble_only.ok());
  EXPECT_TRUE(preamble_only->empty());
}

TEST(MultipartTest, RejectsMalformedInput) {
  struct Case {
    std::string body;
    std::string type;
    StatusCode code;
    std::string message_part;
  };
  const std::string ok_part = "--B\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nhello\r\n";
  const std::vector<Case> cases = {
      {ok_part + "--B--", "application/json", StatusCode::kUnsupportedMediaType, "multipart"},
      {ok_part + "--B--", "multipart/form-data", StatusCode::kInvalidArgument, "no boundary"},
      {ok_part + "--B--", "multipart/form-data; boundary=\"\"", StatusCode::kInvalidArgument, "no boundary"},
      {ok_part + "--B--", "multipart/form-data; boundary=" + std::string(71, 'b'),
       StatusCode::kInvalidArgument, "70"},
      {"hello world", "multipart/form-data; boundary=B", StatusCode::kInvalidArgument, "does not contain"},
      {"", "multipart/form-data; boundary=B", StatusCode::kInvalidArgument, "does not contain"},
      {ok_part, "multipart/form-data; boundary=B", StatusCode::kInvalidArgument, "closing delimiter"},
      {ok_part + "--B", "multipart/form-data; boundary=B", StatusCode::kInvalidArgument, "closing delimiter"},
      {"--B\r\nContent-Disposition: form-data; name=\"a\"\r\n", "multipart/form-data; boundary=B",
       StatusCode::kInvalidArgument, "truncated"},
      {"--B\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nhel", "multipart/form-data; boundary=B",
       StatusCode::kInvalidArgument, "truncated"},
      {"--B\r\nno colon here\r\n\r\nx\r\n--B--", "multipart/form-data; boundary=B",
       StatusCode::kInvalidArgument, "malformed header"},
      {"--Bxyz\r\n\r\nx\r\n", "multipart/form-data; boundary=B", StatusCode::kInvalidArgument,
       "does not contain"},
  };
  for (const auto& c : cases) {
    auto parts = ParseMultipart(c.body, c.type);
    ASSERT_FALSE(parts.ok()) << "body: " << c.body << " type: " << c.type;
    EXPECT_EQ(parts.status().code(), c.code) << c.body;
    EXPECT_NE(parts.status().message().find(c.message_part), std::string::npos)
        << parts.status().message() << " should mention " << c.message_part;
  }
}

TEST(MultipartTest, RandomTruncationsNeverCrash) {
  std::string body =
      "--XyZ123\r\nContent-Disposition: form-data; name=\"image\"; filename=\"a.jpg\"\r\n"
      "Content-Type: image/jpeg\r\n\r\n0123456789\r\n--XyZ123--\r\n";
  for (size_t n = 0; n <= body.size(); ++n) {
    auto parts = ParseMultipart(std::string_view(body).substr(0, n), kType);
    // The close delimiter is complete from this length on; before that every prefix is an error.
    if (n >= body.size() - 2) {
      EXPECT_TRUE(parts.ok()) << n;
    } else {
      EXPECT_FALSE(parts.ok()) << n;
    }
  }
}

TEST(UrlEncodedFormTest, ParsesAndDecodes) {
  auto fields = ParseUrlEncodedForm("a=1&b=x+y&c=%2F%41&&d&e=");
  ASSERT_TRUE(fields.ok());
  std::vector<std::pair<std::string, std::string>> expected = {
      {"a", "1"}, {"b", "x y"}, {"c", "/A"}, {"d", ""}, {"e", ""}};
  EXPECT_EQ(*fields, expected);
  EXPECT_TRUE(ParseUrlEncodedForm("")->empty());
  auto bad = ParseUrlEncodedForm("a=%G1");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(ParseUrlEncodedForm("a=%4").ok());
}

}  // namespace
}  // namespace accel
