#include "api/zmq_access.h"

#include <algorithm>
#include <cstring>

namespace accel {
namespace {

constexpr std::string_view kZapVersion = "1.0";

}  // namespace

std::string_view ZmqRefusalName(ZmqRefusal refusal) {
  switch (refusal) {
    case ZmqRefusal::kNone:
      return "";
    case ZmqRefusal::kAddress:
      return "address";
    case ZmqRefusal::kKey:
      return "key";
    case ZmqRefusal::kHandshake:
      return "handshake";
  }
  return "handshake";
}

ZmqAccessPolicy::ZmqAccessPolicy(AddressAllowList allow, bool curve, std::set<CurveKey> authorized_keys)
    : allow_(std::move(allow)), curve_(curve), authorized_keys_(std::move(authorized_keys)) {}

ZapDecision ZmqAccessPolicy::Decide(std::string_view address, std::string_view mechanism,
                                    const std::vector<std::string>& credentials) const {
  ZapDecision d;
  d.address = std::string(address);
  if (!allow_.empty() && !allow_.Allows(address)) {
    d.refusal = ZmqRefusal::kAddress;
    d.why = "address " + d.address + " is not in --zmq-allow";
    return d;
  }
  const std::string_view expected = curve_ ? "CURVE" : "NULL";
  if (mechanism != expected) {
    d.refusal = ZmqRefusal::kHandshake;
    d.why =
        "security mechanism " + std::string(mechanism) + " where " + std::string(expected) + " is required";
    return d;
  }
  if (curve_) {
    CurveKey key{};
    if (credentials.size() != 1 || credentials[0].size() != key.size()) {
      d.refusal = ZmqRefusal::kHandshake;
      d.why = "CURVE credentials are not one 32-byte public key";
      return d;
    }
    std::memcpy(key.data(), credentials[0].data(), key.size());
    if (!authorized_keys_.count(key)) {
      d.refusal = ZmqRefusal::kKey;
      d.why = "CURVE client key is not in --zmq-curve-authorized-keys";
      return d;
    }
  }
  return d;
}

std::vector<std::string> ZmqAccessPolicy::HandleZapRequest(const std::vector<std::string>& request,
                                                           ZapDecision* decision) const {
  const std::string request_id = request.size() > 1 ? request[1] : "";
  auto reply = [&](std::string_view code, const std::string& text) {
    return std::vector<std::string>{std::string(kZapVersion), request_id, std::string(code), text, "", ""};
  };
  if (request.size() < 6 || request[0] != kZapVersion) {
    *decision =
        ZapDecision{ZmqRefusal::kHandshake, request.size() > 3 ? request[3] : "", "malformed ZAP request"};
    return reply("500", decision->why);
  }
  const std::vector<std::string> credentials(request.begin() + 6, request.end());
  *decision = Decide(request[3], request[5], credentials);
  return decision->accepted() ? reply("200", "OK") : reply("400", decision->why);
}

}  // namespace accel
