#include "cache/redis_url.h"

#include <gtest/gtest.h>

namespace accel {
namespace {

TEST(RedisUrl, ReadsHostPortPasswordAndDatabase) {
  auto u = ParseRedisUrl("redis://redis:6379");
  ASSERT_TRUE(u.ok()) << u.status().message();
  EXPECT_EQ(u->host, "redis");
  EXPECT_EQ(u->port, 6379);
  EXPECT_EQ(u->db, 0);
  EXPECT_EQ(u->password, "");

  u = ParseRedisUrl("redis://:s%40cret@10.0.0.5:6380/2");
  ASSERT_TRUE(u.ok()) << u.status().message();
  EXPECT_EQ(u->host, "10.0.0.5");
  EXPECT_EQ(u->port, 6380);
  EXPECT_EQ(u->password, "s@cret");
  EXPECT_EQ(u->username, "");
  EXPECT_EQ(u->db, 2);
  EXPECT_EQ(u->Display(), "10.0.0.5:6380/2");  // never the password

  u = ParseRedisUrl("redis://accel:pw@[::1]:7000/0");
  ASSERT_TRUE(u.ok()) << u.status().message();
  EXPECT_EQ(u->host, "::1");
  EXPECT_EQ(u->port, 7000);
  EXPECT_EQ(u->username, "accel");
  EXPECT_EQ(u->password, "pw");

  u = ParseRedisUrl("redis://localhost");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->port, 6379);
}

TEST(RedisUrl, RefusesWhatItCannotUseWithAMessageSayingWhy) {
  for (const char* bad : {"http://redis:6379", "redis:6379", "rediss://redis:6379", "unix:///tmp/redis.sock",
                          "redis://", "redis://host:0", "redis://host:99999", "redis://host:port",
                          "redis://host:6379/x", "redis://:%zz@host", "redis://[::1:6379"}) {
    auto u = ParseRedisUrl(bad);
    EXPECT_FALSE(u.ok()) << bad;
    EXPECT_NE(u.status().message().find("REDIS_URL"), std::string::npos) << u.status().message();
  }
  EXPECT_NE(ParseRedisUrl("rediss://h").status().message().find("TLS"), std::string::npos);
}

}  // namespace
}  // namespace accel
