// How a client opts out of the result cache: "cache": false in JSON, cache=false as a field or query
// parameter, or Cache-Control: no-cache / no-store; anything else keeps the cache on.
#include <gtest/gtest.h>

#include "api/infer_request_parser.h"

namespace accel {
namespace {

HttpRequest Json(const std::string& body, std::vector<std::pair<std::string, std::string>> headers = {}) {
  HttpRequest r;
  r.method = "POST";
  r.path = "/ai/infer";
  r.headers = {{"Content-Type", "application/json"}};
  for (auto& h : headers) r.headers.push_back(std::move(h));
  r.body = body;
  return r;
}

TEST(CacheOptOut, JsonFieldQueryParameterAndCacheControl) {
  const std::string image = R"("image_base64": "aGVsbG8=")";
  auto on = ParseInferRequest(Json("{" + image + "}"), {});
  ASSERT_TRUE(on.ok()) << on.status().message();
  EXPECT_TRUE(on->detection.use_cache);

  auto off = ParseInferRequest(Json("{" + image + R"(, "cache": false})"), {});
  ASSERT_TRUE(off.ok()) << off.status().message();
  EXPECT_FALSE(off->detection.use_cache);
  auto text_off = ParseInferRequest(Json("{" + image + R"(, "cache": "false"})"), {});
  ASSERT_TRUE(text_off.ok());
  EXPECT_FALSE(text_off->detection.use_cache);
  auto explicit_on = ParseInferRequest(Json("{" + image + R"(, "cache": true})"), {});
  ASSERT_TRUE(explicit_on.ok());
  EXPECT_TRUE(explicit_on->detection.use_cache);

  for (const char* value : {"no-cache", "No-Cache", "max-age=0, no-store"}) {
    auto header = ParseInferRequest(Json("{" + image + "}", {{"cache-control", value}}), {});
    ASSERT_TRUE(header.ok());
    EXPECT_FALSE(header->detection.use_cache) << value;
  }
  auto max_age = ParseInferRequest(Json("{" + image + "}", {{"Cache-Control", "max-age=60"}}), {});
  ASSERT_TRUE(max_age.ok());
  EXPECT_TRUE(max_age->detection.use_cache);

  HttpRequest raw;
  raw.method = "POST";
  raw.headers = {{"Content-Type", "image/jpeg"}};
  raw.query = "cache=false&threshold=0.5";
  raw.body = "not decoded here";
  auto query = ParseInferRequest(raw, {});
  ASSERT_TRUE(query.ok()) << query.status().message();
  EXPECT_FALSE(query->detection.use_cache);
}

TEST(CacheOptOut, ABadValueIsAClientError) {
  auto bad = ParseInferRequest(Json(R"({"image_base64": "aGVsbG8=", "cache": "maybe"})"), {});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("cache"), std::string::npos);
  auto nested = ParseInferRequest(Json(R"({"image_base64": "aGVsbG8=", "cache": {"x": 1}})"), {});
  EXPECT_EQ(nested.status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace accel
