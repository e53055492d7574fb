#include "core/numbers.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>

#include "core/tensor.h"

namespace accel {
namespace {

TEST(NumbersTest, ParseDoubleTakesWholeFiniteNumbersOnly) {
  EXPECT_EQ(ParseDouble("0.25"), 0.25);
  EXPECT_EQ(ParseDouble("1e3"), 1000.0);
  EXPECT_EQ(ParseDouble("-2"), -2.0);
  for (const char* bad : {"", " 1", "1 ", "1x", "nan", "inf", "1e999", "--1", "0x"})
    EXPECT_FALSE(ParseDouble(bad).has_value()) << bad;
}

TEST(NumbersTest, ParseInt64RejectsOverflowAndJunk) {
  EXPECT_EQ(ParseInt64("9223372036854775807"), std::numeric_limits<int64_t>::max());
  EXPECT_EQ(ParseInt64("-12"), -12);
  for (const char* bad : {"", "9223372036854775808", "1.5", "12a", " 3"})
    EXPECT_FALSE(ParseInt64(bad).has_value()) << bad;
}

TEST(NumbersTest, IntegralCastIsRangeChecked) {
  EXPECT_EQ(IntegralCast<int>(42.0), 42);
  EXPECT_FALSE(IntegralCast<int>(1e20).has_value());
  EXPECT_FALSE(IntegralCast<size_t>(1e30).has_value());
  EXPECT_FALSE(IntegralCast<size_t>(-1.0).has_value());
  EXPECT_FALSE(IntegralCast<int64_t>(2.5).has_value());
  EXPECT_FALSE(IntegralCast<int64_t>(std::numeric_limits<double>::quiet_NaN()).has_value());
  // 2^63 is a double exactly but one past int64's max.
  EXPECT_FALSE(IntegralCast<int64_t>(9223372036854775808.0).has_value());
  EXPECT_EQ(IntegralCast<uint8_t>(255.0), 255);
  EXPECT_FALSE(IntegralCast<uint8_t>(256.0).has_value());
}

TEST(NumbersTest, CheckedMulDetectsOverflow) {
  EXPECT_EQ(CheckedMul(int64_t{3}, int64_t{4}), 12);
  EXPECT_FALSE(CheckedMul(std::numeric_limits<int64_t>::max(), int64_t{2}).has_value());
  EXPECT_FALSE(CheckedMul(size_t{1} << 40, size_t{1} << 40).has_value());
}

TEST(NumbersTest, FieldParsersNameFieldAndRange) {
  EXPECT_EQ(*ParseNumberField("threshold", "0.5", 0, 1), 0.5);
  auto bad = ParseNumberField("threshold", "2", 0, 1);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("'threshold' must be in 0..1"), std::string::npos);
  EXPECT_EQ(*ParseIntegerField("max_results", "20", 1, 1000), 20);
  EXPECT_FALSE(ParseIntegerField("max_results", "1e20", 1, 1000).ok());
  EXPECT_FALSE(ParseIntegerField("max_results", "2.5", 1, 1000).ok());
  EXPECT_FALSE(IntegerInRange("max_results", 1e20, 1, 1000).ok());
}

TEST(NumbersTest, ShapeElementCountRejectsOverflowAndNegativeDims) {
  EXPECT_EQ(ShapeElementCount({1, 3, 416, 416}), 519168);
  EXPECT_EQ(ShapeElementCount({}), 1);
  EXPECT_EQ(ShapeElementCount({2, -1}), -1);
  const int64_t big = std::numeric_limits<int64_t>::max();
  EXPECT_EQ(ShapeElementCount({big, big}), -1);  // used to wrap to 1
  EXPECT_EQ(ShapeElementCount({int64_t{1} << 32, int64_t{1} << 32}), -1);
  EXPECT_EQ(ShapeByteSize({2, 3}, 4), 24u);
  EXPECT_FALSE(ShapeByteSize({int64_t{1} << 62}, 8).has_value());
  EXPECT_FALSE(ShapeByteSize({-1}, 1).has_value());
}

}  // namespace
}  // namespace accel
