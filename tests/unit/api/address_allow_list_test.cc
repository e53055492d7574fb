// AddressAllowList (--zmq-allow): parsing of addresses and CIDR blocks, IPv4 and IPv6, and matching at the
// block boundaries, including the IPv4-mapped IPv6 form dual-stack sockets report.
#include "api/address_allow_list.h"

#include <gtest/gtest.h>

namespace accel {
namespace {

AddressAllowList Parsed(const std::string& text) {
  auto list = AddressAllowList::Parse(text);
  EXPECT_TRUE(list.ok()) << text << ": " << list.status().ToString();
  return list.ok() ? *list : AddressAllowList();
}

TEST(AddressAllowListTest, EmptyListParsesEmptyAndAllowsNothingItself) {
  const AddressAllowList list = Parsed("");
  EXPECT_TRUE(list.empty());
  EXPECT_FALSE(list.Allows("127.0.0.1"));  // "no restriction" is the caller's reading of empty()
  EXPECT_TRUE(Parsed(" , ,").empty());
}

TEST(AddressAllowListTest, SingleIpv4AddressMatchesOnlyItself) {
  const AddressAllowList list = Parsed("192.168.1.7");
  EXPECT_FALSE(list.empty());
  EXPECT_TRUE(list.Allows("192.168.1.7"));
  EXPECT_FALSE(list.Allows("192.168.1.6"));
  EXPECT_FALSE(list.Allows("192.168.1.8"));
  EXPECT_FALSE(list.Allows("127.0.0.1"));
  EXPECT_EQ(list.ToString(), "192.168.1.7/32");
}

TEST(AddressAllowListTest, Ipv4CidrBoundaries) {
  const AddressAllowList list = Parsed("10.0.0.0/8, 172.16.0.0/12,192.168.2.0/23");
  EXPECT_TRUE(list.Allows("10.0.0.0"));
  EXPECT_TRUE(list.Allows("10.255.255.255"));
  EXPECT_FALSE(list.Allows("11.0.0.0"));
  EXPECT_FALSE(list.Allows("9.255.255.255"));
  // /12: 172.16.0.0 .. 172.31.255.255 (a prefix that does not end on an octet)
  EXPECT_TRUE(list.Allows("172.16.0.1"));
  EXPECT_TRUE(list.Allows("172.31.255.255"));
  EXPECT_FALSE(list.Allows("172.32.0.0"));
  EXPECT_FALSE(list.Allows("172.15.255.255"));
  // /23: 192.168.2.0 .. 192.168.3.255
  EXPECT_TRUE(list.Allows("192.168.3.200"));
  EXPECT_FALSE(list.Allows("192.168.4.0"));
  EXPECT_FALSE(list.Allows("192.168.1.255"));
  EXPECT_EQ(list.ToString(), "10.0.0.0/8,172.16.0.0/12,192.168.2.0/23");
}

TEST(AddressAllowListTest, Ipv4AllAndMappedForms) {
  const AddressAllowList all_v4 = Parsed("0.0.0.0/0");
  EXPECT_TRUE(all_v4.Allows("1.2.3.4"));
  EXPECT_TRUE(all_v4.Allows("::ffff:1.2.3.4"));  // what a dual-stack socket reports for an IPv4 peer
  EXPECT_FALSE(all_v4.Allows("::1"));
  EXPECT_FALSE(all_v4.Allows("2001:db8::1"));

  const AddressAllowList loopback = Parsed("127.0.0.0/8");
  EXPECT_TRUE(loopback.Allows("::ffff:127.0.0.1"));
  EXPECT_FALSE(loopback.Allows("::ffff:128.0.0.1"));
  // And an entry written in the mapped form matches the plain IPv4 form.
  EXPECT_TRUE(Parsed("::ffff:192.168.0.0/120").Allows("192.168.0.99"));
}

TEST(AddressAllowListTest, Ipv6Blocks) {
  const AddressAllowList list = Parsed("::1,fd00::/8,2001:db8:abcd::/48");
  EXPECT_TRUE(list.Allows("::1"));
  EXPECT_FALSE(list.Allows("::2"));
  EXPECT_TRUE(list.Allows("fd12:3456::1"));
  EXPECT_TRUE(list.Allows("fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"));
  EXPECT_FALSE(list.Allows("fe00::1"));
  EXPECT_FALSE(list.Allows("fc00::1"));
  EXPECT_TRUE(list.Allows("2001:db8:abcd:12::5"));
  EXPECT_FALSE(list.Allows("2001:db8:abce::5"));
  EXPECT_FALSE(list.Allows("127.0.0.1"));
  EXPECT_TRUE(list.Allows("[::1]"));
  EXPECT_TRUE(Parsed("fe80::/10").Allows("fe80::1%eth0"));  // the zone getnameinfo appends is ignored
  EXPECT_EQ(list.ToString(), "::1/128,fd00::/8,2001:db8:abcd::/48");

  const AddressAllowList everything = Parsed("::/0");
  EXPECT_TRUE(everything.Allows("2001:db8::1"));
  EXPECT_TRUE(everything.Allows("8.8.8.8"));
}

TEST(AddressAllowListTest, PeersThatAreNotAddressesAreRefused) {
  const AddressAllowList list = Parsed("0.0.0.0/0,::/0");
  EXPECT_FALSE(list.Allows(""));
  EXPECT_FALSE(list.Allows("localhost"));
  EXPECT_FALSE(list.Allows("localhost:0:0:1234"));  // how libzmq reports an ipc:// peer
  EXPECT_FALSE(list.Allows("1.2.3"));
}

TEST(AddressAllowListTest, MalformedEntriesNameTheEntry) {
  for (const char* bad : {"10.0.0.0/33", "::/129", "10.0.0.0/-1", "10.0.0.0/", "10.0.0.0/8x", "host.example",
                          "300.1.1.1", "10.0.0.1/8", "fd00::1/8", "fe80::1%eth0", "1.2.3.4/32/1"}) {
    auto list = AddressAllowList::Parse(std::string("127.0.0.1,") + bad);
    ASSERT_FALSE(list.ok()) << bad;
    EXPECT_EQ(list.status().code(), StatusCode::kInvalidArgument) << bad;
    EXPECT_NE(list.status().message().find(bad), std::string::npos) << list.status().message();
  }
  // Host bits below the prefix: the message says what to write instead.
  auto host_bits = AddressAllowList::Parse("10.1.0.0/8");
  ASSERT_FALSE(host_bits.ok());
  EXPECT_NE(host_bits.status().message().find("network address"), std::string::npos);
}

}  // namespace
}  // namespace accel
