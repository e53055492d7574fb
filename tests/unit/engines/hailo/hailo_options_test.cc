#include <gtest/gtest.h>

#include <map>
#include <string>

#include "engines/hailo/hailo_options.h"

namespace accel {
namespace {

EngineOptions Opts(std::map<std::string, std::string> values) {
  EngineOptions o;
  o.values = std::move(values);
  return o;
}

TEST(HailoOptions, Defaults) {
  auto o = ParseHailoOptions({});
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->batch_size, 0);
  EXPECT_EQ(o->threads, 2);
  EXPECT_EQ(o->scheduler, HailoScheduler::kRoundRobin);
  EXPECT_FALSE(o->multi_process);
  EXPECT_EQ(o->scheduler_priority, -1);
  EXPECT_TRUE(o->group_id.empty());
  EXPECT_EQ(o->timeout_ms, 2000);
  EXPECT_EQ(o->backoff_max_ms, 30000);
}

TEST(HailoOptions, GivenValuesReplaceDefaults) {
  auto o = ParseHailoOptions(
      Opts({{"batch_size", "4"}, {"threads", "3"}, {"scheduler", "None"}, {"timeout_ms", "500"}}));
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_EQ(o->batch_size, 4);
  EXPECT_EQ(o->threads, 3);
  EXPECT_EQ(o->scheduler, HailoScheduler::kNone);
  EXPECT_EQ(o->timeout_ms, 500);
}

TEST(HailoOptions, SharingTheCardThroughTheService) {
  auto o = ParseHailoOptions(
      Opts({{"multi_process", "yes"}, {"group_id", "frigate"}, {"scheduler_priority", "20"}}));
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_TRUE(o->multi_process);
  EXPECT_EQ(o->group_id, "frigate");
  EXPECT_EQ(o->scheduler_priority, 20);
  const std::string text = DescribeHailoOptions(*o);
  EXPECT_NE(text.find("multi_process=true"), std::string::npos);
  EXPECT_NE(text.find("scheduler_priority=20"), std::string::npos);
}

TEST(HailoOptions, RejectsInvalidValuesNamingTheOption) {
  EXPECT_FALSE(ParseHailoOptions(Opts({{"threads", "0"}})).ok());
  EXPECT_FALSE(ParseHailoOptions(Opts({{"batch_size", "4x"}})).ok());
  EXPECT_FALSE(ParseHailoOptions(Opts({{"scheduler", "fifo"}})).ok());
  EXPECT_FALSE(ParseHailoOptions(Opts({{"scheduler_priority", "32"}})).ok());
  EXPECT_FALSE(ParseHailoOptions(Opts({{"multi_process", "maybe"}})).ok());
  EXPECT_FALSE(ParseHailoOptions(Opts({{"backoff_initial_ms", "100"}, {"backoff_max_ms", "50"}})).ok());
  auto bad = ParseHailoOptions(Opts({{"threads", "two"}}));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("hailo.threads"), std::string::npos) << bad.status().ToString();
  auto unknown = ParseHailoOptions(Opts({{"batchsize", "4"}}));  // a typo is not ignored
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.status().message().find("hailo.batchsize"), std::string::npos);
}

TEST(HailoOptions, SchedulerOptionsNeedTheScheduler) {
  EXPECT_FALSE(ParseHailoOptions(Opts({{"scheduler", "none"}, {"multi_process", "true"}})).ok());
  EXPECT_FALSE(ParseHailoOptions(Opts({{"scheduler", "none"}, {"scheduler_threshold", "4"}})).ok());
  EXPECT_TRUE(ParseHailoOptions(Opts({{"scheduler", "round_robin"}, {"scheduler_threshold", "4"}})).ok());
}

// Every key ParseHailoOptions reads is declared, so the command line generated from the specs can set it,
// and each declared default is itself a valid value.
TEST(HailoOptions, SpecsDeclareEveryKeyWithValidDefaults) {
  const auto specs = HailoOptionSpecs();
  std::map<std::string, std::string> defaults;
  for (const auto& spec : specs) {
    EXPECT_FALSE(spec.help.empty()) << spec.key;
    if (!spec.default_value.empty()) {
      EXPECT_TRUE(CheckEngineOptionValue("hailo", spec, spec.default_value).ok()) << spec.key;
      defaults[spec.key] = spec.default_value;
    }
  }
  for (const char* key : {"batch_size", "threads", "scheduler", "scheduler_timeout_ms", "scheduler_threshold",
                          "scheduler_priority", "multi_process", "group_id", "timeout_ms",
                          "backoff_initial_ms", "backoff_max_ms", "monitor_interval_ms"})
    EXPECT_TRUE(ParseHailoOptions(Opts({{key, defaults.count(key) ? defaults[key] : "1"}})).ok()) << key;
}

}  // namespace
}  // namespace accel
