#include "api/client_json.h"

#include <gtest/gtest.h>

#include <string>

namespace accel {
namespace {

using nlohmann::json;

std::string Nested(int depth) { return std::string(depth, '[') + "1" + std::string(depth, ']'); }

TEST(ClientJsonTest, DepthIgnoresBracketsInStrings) {
  EXPECT_EQ(JsonNestingDepth(R"({"a": [1, {"b": "[[[["}]})", 100), 3);
  EXPECT_EQ(JsonNestingDepth(R"(["\"[[[", "\\", [2]])", 100), 2);
  EXPECT_EQ(JsonNestingDepth("1", 100), 0);
  // Stops counting once past the limit.
  EXPECT_EQ(JsonNestingDepth(Nested(100000), 64), 65);
}

TEST(ClientJsonTest, RejectsDeepNestingBeforeParsing) {
  EXPECT_TRUE(ParseClientJson(Nested(64), "body").ok());
  auto deep = ParseClientJson(Nested(65), "body");
  ASSERT_FALSE(deep.ok());
  EXPECT_EQ(deep.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(deep.status().message().find("deeper than 64"), std::string::npos);
  // 100,000 levels (the stack-overflow finding) is refused without recursion.
  EXPECT_FALSE(ParseClientJson(Nested(100000), "body").ok());
}

TEST(ClientJsonTest, InvalidJsonIsAnErrorNotAnException) {
  auto r = ParseClientJson("{not json", "the zmq header");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("the zmq header is not valid JSON"), std::string::npos);
}

TEST(ClientJsonTest, TypedAccessorsNameTheField) {
  const json j = json::parse(R"({"flag": 0, "ok": true, "name": 5, "s": "x", "arr": [1], "nul": null})");
  EXPECT_EQ(*OptionalBool(j, "ok"), std::optional<bool>(true));
  EXPECT_EQ(*OptionalBool(j, "missing"), std::nullopt);
  EXPECT_EQ(*OptionalBool(j, "nul"), std::nullopt);
  auto wrong = OptionalBool(j, "flag");  // {"model_request": 0} used to throw type_error
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.status().message(), "'flag' must be a boolean");
  EXPECT_FALSE(OptionalString(j, "name").ok());
  EXPECT_EQ(*OptionalString(j, "s"), std::optional<std::string>("x"));
  EXPECT_NE(*OptionalField(j, "arr", json::value_t::array), nullptr);
  EXPECT_FALSE(OptionalField(j, "s", json::value_t::array).ok());
  EXPECT_EQ(*OptionalField(j, "missing", json::value_t::object), nullptr);
  // A non-object reads as empty, not as an exception.
  EXPECT_EQ(*OptionalBool(json::array(), "x"), std::nullopt);
}

}  // namespace
}  // namespace accel
