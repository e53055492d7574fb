// Who may connect to the zmq front end: the decisions of its ZAP handler (ZeroMQ Authentication Protocol,
// RFC 27), and the ZAP message format. libzmq asks the handler (a REP socket bound to
// inproc://zeromq.zap.01 in the server's context, served by the zmq server's socket thread) about every
// new connection, before any message of it is delivered; a refused peer gets a ZMTP ERROR and is
// disconnected, so it never reaches the request handler.
//
// Rules, checked in this order:
//   1. address: when the allow-list is not empty, the peer's IP address must lie in it (--zmq-allow).
//   2. mechanism: CURVE when the server is a CURVE server, NULL otherwise (libzmq itself already refuses a
//      mismatch in the greeting; the check here keeps a surprise from becoming an accept).
//   3. key: with CURVE, the client's long-term public key must be in the authorised keys.
//
// No socket here: HandleZapRequest maps request frames to reply frames, so the rules are tested without a
// connection. Immutable after construction; any thread may call the const methods.
#pragma once

#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "api/address_allow_list.h"
#include "api/zmq_curve_keys.h"

namespace accel {

// Why a connection was refused; also the `reason` label of accel_zmq_refused_connections_total. The server
// also counts as kHandshake the handshakes that fail before ZAP is asked (seen through the socket monitor).
enum class ZmqRefusal { kNone, kAddress, kKey, kHandshake };
std::string_view ZmqRefusalName(ZmqRefusal refusal);  // "", "address", "key", "handshake"

struct ZapDecision {
  ZmqRefusal refusal = ZmqRefusal::kNone;  // kNone: accepted
  std::string address;                     // the peer's address as libzmq reported it
  std::string why;                         // for the log and the ZAP status text; "" when accepted
  bool accepted() const { return refusal == ZmqRefusal::kNone; }
};

class ZmqAccessPolicy {
 public:
  ZmqAccessPolicy() = default;  // no restriction
  // `curve`: the server is a CURVE server and `authorized_keys` are the client keys it accepts.
  ZmqAccessPolicy(AddressAllowList allow, bool curve, std::set<CurveKey> authorized_keys);

  // Whether any rule applies. When false the server installs no ZAP handler at all (today's behaviour).
  bool restricts() const { return !allow_.empty() || curve_; }
  bool curve() const { return curve_; }
  const AddressAllowList& allow_list() const { return allow_; }

  // `credentials`: the mechanism's credential frames (CURVE: one frame, the client's 32-byte public key).
  ZapDecision Decide(std::string_view address, std::string_view mechanism,
                     const std::vector<std::string>& credentials) const;

  // One ZAP request as a REP socket receives it ([version "1.0", request id, domain, address, identity,
  // mechanism, credentials...]) -> the reply frames ([version, request id, status code "200"/"400"/"500",
  // status text, user id, metadata]) and the decision. A malformed request is answered "500" and counted as
  // a handshake refusal: the REP socket must answer every request, whatever it holds.
  std::vector<std::string> HandleZapRequest(const std::vector<std::string>& request,
                                            ZapDecision* decision) const;

 private:
  AddressAllowList allow_;
  bool curve_ = false;
  std::set<CurveKey> authorized_keys_;
};

}  // namespace accel
