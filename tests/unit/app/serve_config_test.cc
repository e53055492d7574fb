#include <gtest/gtest.h>

#include <cstdlib>

#include "app/app_config.h"
#include "core/strings.h"

namespace accel {
namespace {

TEST(ServeConfigTest, FlagsOverrideEnvironment) {
  setenv("DEFAULT_ENGINE", "cpu", 1);
  setenv("LOAD_BALANCING", "false", 1);
  auto config = ParseServeConfig(
      {"--port", "9000", "--default-engine=hailo", "--sim-device", "name=a", "--sim-device", "name=b"});
  unsetenv("DEFAULT_ENGINE");
  unsetenv("LOAD_BALANCING");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->port, 9000);
  EXPECT_EQ(config->default_engine, "hailo");
  EXPECT_FALSE(config->load_balancing);
  EXPECT_EQ(config->sim_devices.size(), 2u);
}

TEST(ServeConfigTest, BadValuesAreErrorsNamingTheOption) {
  auto bad_port = ParseServeConfig({"--port", "http"});
  ASSERT_FALSE(bad_port.ok());
  EXPECT_NE(bad_port.status().message().find("--port"), std::string::npos);
  EXPECT_FALSE(ParseServeConfig({"--port", "70000"}).ok());
  EXPECT_FALSE(ParseServeConfig({"--no-such-flag"}).ok());
  EXPECT_FALSE(ParseServeConfig({"--models"}).ok());
  setenv("SUPPORT_HAILO", "maybe", 1);
  auto bad_env = ParseServeConfig({});
  unsetenv("SUPPORT_HAILO");
  ASSERT_FALSE(bad_env.ok());
  EXPECT_NE(bad_env.status().message().find("SUPPORT_HAILO"), std::string::npos);
}

TEST(ServeConfigTest, UsageDocumentsEveryEnvironmentVariable) {
  const std::string usage = ServeUsage();
  for (const char* env : {"DEFAULT_ENGINE", "FALLBACK_ENGINE", "SUPPORT_HAILO", "SUPPORT_NVIDIA", "LOG_LEVEL",
                          "DEBUG", "LOAD_BALANCING", "ROUND_ROBIN", "HAILO_BATCH_SIZE", "DEVICE_PRIORITY"})
    EXPECT_NE(usage.find(env), std::string::npos) << env;
}

TEST(StringsTest, SplitAndBool) {
  EXPECT_EQ(SplitList(" a, b ,,c "), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_TRUE(*ParseBool("Yes"));
  EXPECT_FALSE(*ParseBool("off"));
  EXPECT_FALSE(ParseBool("2").ok());
}

}  // namespace
}  // namespace accel
