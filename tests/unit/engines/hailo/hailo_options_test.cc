#include <gtest/gtest.h>

#include <map>
#include <string>

#include "engines/hailo/hailo_options.h"

namespace accel {
namespace {

EnvLookup FakeEnv(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const char* name) -> const char* {
    auto it = vars.find(name);
    return it == vars.end() ? nullptr : it->second.c_str();
  };
}

EngineOptions Opts(std::map<std::string, std::string> values) {
  EngineOptions o;
  o.values = std::move(values);
  return o;
}

TEST(HailoOptions, Defaults) {
  auto o = ParseHailoOptions({}, FakeEnv({}));
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->batch_size, 0);
  EXPECT_EQ(o->threads, 2);
  EXPECT_EQ(o->scheduler, HailoScheduler::kRoundRobin);
  EXPECT_FALSE(o->multi_process);
  EXPECT_EQ(o->scheduler_priority, -1);
  EXPECT_TRUE(o->group_id.empty());
}

TEST(HailoOptions, EnvironmentFillsWhatOptionsLeaveOpen) {
  auto o = ParseHailoOptions(Opts({{"batch_size", "4"}}), FakeEnv({{"HAILO_BATCH_SIZE", "8"},
                                                                   {"HAILO_THREADS", "3"},
                                                                   {"HAILO_SCHEDULER", "none"},
                                                                   {"HAILO_TIMEOUT_MS", "500"}}));
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_EQ(o->batch_size, 4);  // the option wins over HAILO_BATCH_SIZE
  EXPECT_EQ(o->threads, 3);
  EXPECT_EQ(o->scheduler, HailoScheduler::kNone);
  EXPECT_EQ(o->timeout_ms, 500);
}

TEST(HailoOptions, SharingTheCardThroughTheService) {
  auto o = ParseHailoOptions(Opts({{"multi_process", "yes"}, {"group_id", "frigate"}}),
                             FakeEnv({{"HAILO_SCHEDULER_PRIORITY", "20"}}));
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_TRUE(o->multi_process);
  EXPECT_EQ(o->group_id, "frigate");
  EXPECT_EQ(o->scheduler_priority, 20);
  const std::string text = DescribeHailoOptions(*o);
  EXPECT_NE(text.find("multi_process=true"), std::string::npos);
  EXPECT_NE(text.find("scheduler_priority=20"), std::string::npos);
}

TEST(HailoOptions, RejectsInvalidValues) {
  const auto env = FakeEnv({});
  EXPECT_FALSE(ParseHailoOptions(Opts({{"threads", "0"}}), env).ok());
  EXPECT_FALSE(ParseHailoOptions(Opts({{"threads", "two"}}), env).ok());
  EXPECT_FALSE(ParseHailoOptions(Opts({{"batch_size", "4x"}}), env).ok());
  EXPECT_FALSE(ParseHailoOptions(Opts({{"scheduler", "fifo"}}), env).ok());
  EXPECT_FALSE(ParseHailoOptions(Opts({{"scheduler_priority", "32"}}), env).ok());
  EXPECT_FALSE(ParseHailoOptions(Opts({{"multi_process", "maybe"}}), env).ok());
  EXPECT_FALSE(ParseHailoOptions(Opts({{"batchsize", "4"}}), env).ok());  // unknown key
  EXPECT_FALSE(ParseHailoOptions(Opts({{"backoff_initial_ms", "100"}, {"backoff_max_ms", "50"}}), env).ok());
  auto bad_env = ParseHailoOptions({}, FakeEnv({{"HAILO_THREADS", "-1"}}));
  ASSERT_FALSE(bad_env.ok());
  EXPECT_NE(bad_env.status().message().find("HAILO_THREADS"), std::string::npos);
}

TEST(HailoOptions, SchedulerOptionsNeedTheScheduler) {
  const auto env = FakeEnv({});
  EXPECT_FALSE(ParseHailoOptions(Opts({{"scheduler", "none"}, {"multi_process", "true"}}), env).ok());
  EXPECT_FALSE(ParseHailoOptions(Opts({{"scheduler", "none"}, {"scheduler_threshold", "4"}}), env).ok());
  EXPECT_TRUE(
      ParseHailoOptions(Opts({{"scheduler", "round_robin"}, {"scheduler_threshold", "4"}}), env).ok());
}

}  // namespace
}  // namespace accel
