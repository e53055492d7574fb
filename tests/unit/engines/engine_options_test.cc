#include "engines/engine_options.h"

#include <gtest/gtest.h>

namespace accel {
namespace {

std::vector<EngineOptionSpec> Specs() {
  return {{.key = "threads",
           .type = EngineOptionType::kInt,
           .default_value = "2",
           .help = "h",
           .min = 1,
           .max = 8},
          {.key = "depth",
           .type = EngineOptionType::kInt,
           .default_value = "",
           .help = "no default",
           .min = -1,
           .max = 3},
          {.key = "fast", .type = EngineOptionType::kBool, .default_value = "false", .help = "h"},
          {.key = "mode", .type = EngineOptionType::kString, .default_value = "a", .help = "h"}};
}

EngineOptions Opts(std::map<std::string, std::string> values) { return EngineOptions{std::move(values)}; }

TEST(EngineOptionsTest, DefaultsApplyWhenNotGiven) {
  auto o = ValidateEngineOptions("k", Specs(), {});
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_EQ(o->Int("threads"), 2);
  EXPECT_FALSE(o->Has("threads"));
  EXPECT_EQ(o->Int("depth"), 0);
  EXPECT_FALSE(o->Bool("fast"));
  EXPECT_EQ(o->String("mode"), "a");
}

TEST(EngineOptionsTest, GivenValuesAreParsedAsTheirType) {
  auto o = ValidateEngineOptions("k", Specs(),
                                 Opts({{"threads", "8"}, {"depth", "-1"}, {"fast", "Yes"}, {"mode", "b"}}));
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_TRUE(o->Has("threads"));
  EXPECT_EQ(o->Int("threads"), 8);
  EXPECT_EQ(o->Int("depth"), -1);
  EXPECT_TRUE(o->Bool("fast"));
  EXPECT_EQ(o->String("mode"), "b");
}

TEST(EngineOptionsTest, BadValuesAndUnknownKeysNameKindAndKey) {
  for (const auto& [key, value] : std::vector<std::pair<std::string, std::string>>{{"threads", "x"},
                                                                                   {"threads", "9"},
                                                                                   {"threads", "0"},
                                                                                   {"threads", "2.5"},
                                                                                   {"threads", ""},
                                                                                   {"fast", "maybe"},
                                                                                   {"nope", "1"}}) {
    auto o = ValidateEngineOptions("k", Specs(), Opts({{key, value}}));
    ASSERT_FALSE(o.ok()) << key << "=" << value;
    EXPECT_EQ(o.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(o.status().message().find("k." + key), std::string::npos) << o.status().ToString();
  }
}

}  // namespace
}  // namespace accel
