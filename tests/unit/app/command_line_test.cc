#include "app/command_line.h"

#include <gtest/gtest.h>

#include <cstdlib>

namespace accel {
namespace {

struct Args {
  std::string name = "x";
  int count = 1;
  bool verbose = false;
  double ratio = 0.5;
};

std::vector<CommandOption> Table(Args& a) {
  return {{"--name", "TEST_CMDLINE_NAME", "NAME", "a name", StringValue(&a.name)},
          {"--count", "", "N", "a count", IntValue("count", &a.count, 1, 10)},
          {"--verbose", "", "", "a switch", BoolValue("verbose", &a.verbose)},
          {"--ratio", "", "R", "a ratio", DoubleValue("ratio", &a.ratio, 0, 1)}};
}

TEST(CommandLineTest, FlagsValuesSwitchesAndPositionals) {
  Args a;
  auto pos =
      ParseCommandLine("test", Table(a), {"in.jpg", "--name", "n", "--count=3", "--verbose", "out"}, false);
  ASSERT_TRUE(pos.ok()) << pos.status().message();
  EXPECT_EQ(*pos, (std::vector<std::string>{"in.jpg", "out"}));
  EXPECT_EQ(a.name, "n");
  EXPECT_EQ(a.count, 3);
  EXPECT_TRUE(a.verbose);
}

TEST(CommandLineTest, ErrorsNameTheFlag) {
  Args a;
  auto unknown = ParseCommandLine("test", Table(a), {"--bogus"}, false);
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.status().message().find("accel test --help"), std::string::npos);
  auto range = ParseCommandLine("test", Table(a), {"--count", "11"}, false);
  ASSERT_FALSE(range.ok());
  EXPECT_NE(range.status().message().find("--count"), std::string::npos);
  EXPECT_NE(range.status().message().find("1..10"), std::string::npos);
  EXPECT_FALSE(ParseCommandLine("test", Table(a), {"--count", "2x"}, false).ok());
  EXPECT_FALSE(ParseCommandLine("test", Table(a), {"--count"}, false).ok());
  EXPECT_FALSE(ParseCommandLine("test", Table(a), {"--verbose=yes"}, false).ok());
  EXPECT_FALSE(ParseCommandLine("test", Table(a), {"--ratio", "nan"}, false).ok());
}

TEST(CommandLineTest, EnvironmentFirstFlagsWin) {
  setenv("TEST_CMDLINE_NAME", "from-env", 1);
  Args a;
  ASSERT_TRUE(ParseCommandLine("test", Table(a), {}, true).ok());
  EXPECT_EQ(a.name, "from-env");
  Args b;
  ASSERT_TRUE(ParseCommandLine("test", Table(b), {"--name", "flag"}, true).ok());
  EXPECT_EQ(b.name, "flag");
  Args c;
  ASSERT_TRUE(ParseCommandLine("test", Table(c), {}, false).ok());
  EXPECT_EQ(c.name, "x");
  unsetenv("TEST_CMDLINE_NAME");
}

TEST(CommandLineTest, UsageListsEveryOptionAndVariable) {
  Args a;
  const std::string usage = CommandUsage("test [options]", "Tests.\n", Table(a));
  for (const char* s : {"usage: accel test [options]", "--name NAME", "[env TEST_CMDLINE_NAME]", "--count N",
                        "--verbose", "a ratio"})
    EXPECT_NE(usage.find(s), std::string::npos) << s;
}

}  // namespace
}  // namespace accel
