#include "api/address_allow_list.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

#include "core/numbers.h"
#include "core/strings.h"

namespace accel {
namespace {

constexpr int kMappedPrefix = 96;  // ::ffff:0:0/96 holds the IPv4 addresses

}  // namespace

bool AddressAllowList::ParseAddress(std::string_view text, Bytes& out, bool& is_v4) {
  if (text.size() >= 2 && text.front() == '[' && text.back() == ']') text = text.substr(1, text.size() - 2);
  const std::string s(text);
  in_addr v4{};
  if (inet_pton(AF_INET, s.c_str(), &v4) == 1) {
    out.fill(0);
    out[10] = 0xff;
    out[11] = 0xff;
    std::memcpy(out.data() + 12, &v4, 4);
    is_v4 = true;
    return true;
  }
  in6_addr v6{};
  if (inet_pton(AF_INET6, s.c_str(), &v6) == 1) {
    std::memcpy(out.data(), &v6, 16);
    is_v4 = false;
    return true;
  }
  return false;
}

bool AddressAllowList::Matches(const Block& block, const Bytes& address) {
  const int full = block.prefix / 8;
  if (std::memcmp(block.bytes.data(), address.data(), static_cast<size_t>(full)) != 0) return false;
  const int rest = block.prefix % 8;
  if (rest == 0) return true;
  const uint8_t mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (block.bytes[full] & mask) == (address[full] & mask);
}

StatusOr<AddressAllowList> AddressAllowList::Parse(const std::string& list) {
  AddressAllowList out;
  for (const std::string& item : SplitList(list)) {
    const auto slash = item.find('/');
    const std::string_view address = std::string_view(item).substr(0, slash);
    Block block;
    bool is_v4 = false;
    if (address.find('%') != std::string_view::npos || !ParseAddress(address, block.bytes, is_v4))
      return InvalidArgument("allow-list entry '" + item + "' is not an IPv4 or IPv6 address or CIDR block");
    const int max_prefix = is_v4 ? 32 : 128;
    int prefix = max_prefix;
    if (slash != std::string::npos) {
      const auto parsed = ParseInt64(std::string_view(item).substr(slash + 1));
      if (!parsed || *parsed < 0 || *parsed > max_prefix)
        return InvalidArgument("allow-list entry '" + item + "': the prefix length must be 0.." +
                               std::to_string(max_prefix));
      prefix = static_cast<int>(*parsed);
    }
    block.prefix = is_v4 ? kMappedPrefix + prefix : prefix;
    // Host bits below the prefix must be zero.
    for (int bit = block.prefix; bit < 128; ++bit) {
      if (block.bytes[bit / 8] & (0x80 >> (bit % 8)))
        return InvalidArgument("allow-list entry '" + item +
                               "' has address bits set below its prefix length; write the network address "
                               "(e.g. 10.0.0.0/8) or a single address");
    }
    out.blocks_.push_back(block);
  }
  return out;
}

bool AddressAllowList::Allows(std::string_view address) const {
  if (const auto zone = address.find('%'); zone != std::string_view::npos) address = address.substr(0, zone);
  Bytes bytes{};
  bool is_v4 = false;
  if (!ParseAddress(address, bytes, is_v4)) return false;
  for (const Block& b : blocks_)
    if (Matches(b, bytes)) return true;
  return false;
}

std::string AddressAllowList::ToString() const {
  std::string out;
  for (const Block& b : blocks_) {
    if (!out.empty()) out += ",";
    char text[INET6_ADDRSTRLEN] = {};
    const bool mapped = b.prefix >= kMappedPrefix && b.bytes[10] == 0xff && b.bytes[11] == 0xff &&
                        std::all_of(b.bytes.begin(), b.bytes.begin() + 10, [](uint8_t x) { return x == 0; });
    if (mapped) {
      inet_ntop(AF_INET, b.bytes.data() + 12, text, sizeof(text));
      out += std::string(text) + "/" + std::to_string(b.prefix - kMappedPrefix);
    } else {
      inet_ntop(AF_INET6, b.bytes.data(), text, sizeof(text));
      out += std::string(text) + "/" + std::to_string(b.prefix);
    }
  }
  return out;
}

}  // namespace accel
