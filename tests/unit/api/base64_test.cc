#include "api/base64.h"

#include <random>

#include <gtest/gtest.h>

namespace accel {
namespace {

std::string AsString(const std::vector<uint8_t>& v) { return std::string(v.begin(), v.end()); }

TEST(Base64Test, KnownVectors) {
  // RFC 4648 section 10.
  const std::vector<std::pair<std::string, std::string>> vectors = {{"", ""},
                                                                    {"f", "Zg=="},
                                                                    {"fo", "Zm8="},
                                                                    {"foo", "Zm9v"},
                                                                    {"foob", "Zm9vYg=="},
                                                                    {"fooba", "Zm9vYmE="},
                                                                    {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, encoded] : vectors) {
    EXPECT_EQ(Base64Encode(plain), encoded);
    auto decoded = Base64Decode(encoded);
    ASSERT_TRUE(decoded.ok()) << encoded;
    EXPECT_EQ(AsString(*decoded), plain);
    std::string unpadded = encoded.substr(0, encoded.find('='));
    auto decoded_unpadded = Base64Decode(unpadded);
    ASSERT_TRUE(decoded_unpadded.ok()) << unpadded;
    EXPECT_EQ(AsString(*decoded_unpadded), plain);
  }
}

TEST(Base64Test, UrlSafeAndWhitespace) {
  const std::vector<uint8_t> bytes = {0xfb, 0xff, 0xbf, 0x3e, 0x00};
  std::string standard = Base64Encode(bytes.data(), bytes.size());
  std::string url = Base64Encode(bytes.data(), bytes.size(), /*url_safe=*/true);
  EXPECT_EQ(standard, "+/+/PgA=");
  EXPECT_EQ(url, "-_-_PgA");
  EXPECT_EQ(*Base64Decode(standard), bytes);
  EXPECT_EQ(*Base64Decode(url), bytes);
  EXPECT_EQ(*Base64Decode(" +/+/\r\n Pg\tA=\n"), bytes);
}

TEST(Base64Test, RoundTripRandom) {
  std::mt19937 rng(7);
  for (size_t n = 0; n < 300; ++n) {
    std::vector<uint8_t> data(n);
    for (auto& b : data) b = static_cast<uint8_t>(rng());
    for (bool url_safe : {false, true}) {
      auto decoded = Base64Decode(Base64Encode(data.data(), data.size(), url_safe));
      ASSERT_TRUE(decoded.ok());
      EXPECT_EQ(*decoded, data) << n;
    }
  }
}

TEST(Base64Test, RejectsInvalid) {
  auto bad_char = Base64Decode("Zm9v*mFy");
  ASSERT_FALSE(bad_char.ok());
  EXPECT_EQ(bad_char.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad_char.status().message().find("'*'"), std::string::npos) << bad_char.status().message();
  EXPECT_NE(bad_char.status().message().find("offset 4"), std::string::npos);
  EXPECT_FALSE(Base64Decode("Zm9v\xc3\xa9").ok());
  EXPECT_FALSE(Base64Decode("Z").ok());  // one stray character
  EXPECT_FALSE(Base64Decode("Zm9vY").ok());
  EXPECT_FALSE(Base64Decode("Zg=").ok());       // short padding
  EXPECT_FALSE(Base64Decode("Zg===").ok());     // too much padding
  EXPECT_FALSE(Base64Decode("Zg==Zg==").ok());  // data after padding
  EXPECT_FALSE(Base64Decode("====").ok());
  EXPECT_FALSE(Base64Decode("Zm9v=").ok());
}

TEST(Base64Test, StripDataUrlPrefix) {
  std::string media;
  EXPECT_EQ(StripDataUrlPrefix("data:image/jpeg;base64,/9j/4AAQ", &media), "/9j/4AAQ");
  EXPECT_EQ(media, "image/jpeg");
  EXPECT_EQ(StripDataUrlPrefix("  DATA:image/png;base64,iVBOR", &media), "iVBOR");
  EXPECT_EQ(media, "image/png");
  EXPECT_EQ(StripDataUrlPrefix("/9j/4AAQ", &media), "/9j/4AAQ");
  EXPECT_EQ(media, "");
  EXPECT_EQ(StripDataUrlPrefix("data:no-comma"), "data:no-comma");
  auto decoded = Base64Decode(StripDataUrlPrefix("data:text/plain;base64,Zm9vYmFy"));
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(AsString(*decoded), "foobar");
}

}  // namespace
}  // namespace accel
