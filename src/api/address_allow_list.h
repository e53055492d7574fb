// An allow-list of peer IP addresses: single addresses and CIDR blocks, IPv4 and IPv6 ("127.0.0.1",
// "10.0.0.0/8", "::1", "fd00::/8"). Used by the zmq front end's ZAP handler (--zmq-allow, zmq_access.h).
//
// IPv4 is held as IPv4-mapped IPv6 (::ffff:a.b.c.d/96+n), so a peer that a dual-stack socket reports as
// "::ffff:192.168.1.7" matches the entry "192.168.1.0/24" and the other way round. "0.0.0.0/0" allows every
// IPv4 peer, "::/0" every peer.
//
// Immutable after Parse; Allows may be called from any thread.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace accel {

class AddressAllowList {
 public:
  // A comma-separated list; spaces around items are ignored. InvalidArgument names the first bad item: not
  // an address, a prefix out of range (/0../32 for IPv4, /0../128 for IPv6), or host bits set below the
  // prefix ("10.1.0.0/8": a typo for /16 or for 10.0.0.0/8 is more likely than a wish for either). An empty
  // list parses to an empty allow-list, which callers treat as "no restriction".
  static StatusOr<AddressAllowList> Parse(const std::string& list);

  bool empty() const { return blocks_.empty(); }
  // Whether `address` (numeric IPv4 or IPv6 as getnameinfo prints it; an IPv6 zone "%eth0" is ignored) lies
  // in some block. An address that does not parse is never allowed.
  bool Allows(std::string_view address) const;
  // The entries in canonical form, comma-separated (for logs).
  std::string ToString() const;

 private:
  using Bytes = std::array<uint8_t, 16>;
  struct Block {
    Bytes bytes{};
    int prefix = 0;  // bits of `bytes` that must match, in the IPv6 (mapped) form
  };
  static bool ParseAddress(std::string_view text, Bytes& out, bool& is_v4);
  static bool Matches(const Block& block, const Bytes& address);
  std::vector<Block> blocks_;
};

}  // namespace accel
