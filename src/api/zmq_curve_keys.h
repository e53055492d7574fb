// CURVE key material for the zmq front end (--zmq-curve-secret-key, --zmq-curve-authorized-keys, `accel
// keygen --zmq`). Keys are 32 bytes, written as 40 characters of Z85 (ZeroMQ RFC 32), the form libzmq's
// ZMQ_CURVE_* options, pyzmq's zmq.curve_keypair() and `accel keygen --zmq` use.
//
// Files: one key per line, optionally after the word "public-key" or "secret-key" (so the output of `accel
// keygen --zmq` is a valid file of either kind); '#' starts a comment; blank lines are skipped.
//   secret key file: the first key that is not marked "public-key" is the server's secret key.
//   authorised keys file: every key is one client public key; a "secret-key" line is an error.
//
// Free functions, callable from any thread.
#pragma once

#include <array>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>

#include "core/status.h"

namespace accel {

using CurveKey = std::array<uint8_t, 32>;

struct CurveKeyPair {
  std::string public_z85;  // 40 characters
  std::string secret_z85;  // 40 characters
};

// Whether this libzmq was built with CURVE (zmq_has("curve"): Debian's libzmq5 is, with libsodium).
bool CurveAvailable();
// The FailedPrecondition every CURVE entry point returns when CurveAvailable() is false.
Status CurveUnavailableError();

// A new random key pair (zmq_curve_keypair).
StatusOr<CurveKeyPair> GenerateCurveKeyPair();

// 40 Z85 characters -> 32 bytes; InvalidArgument otherwise.
StatusOr<CurveKey> DecodeCurveKey(std::string_view z85);

// The server's key pair from its secret key file: the public key is derived (zmq_curve_public), so the
// file holds only the secret. InvalidArgument for an unreadable file, no key line, or a malformed key.
// Logs a warning when the file is readable by group or others.
StatusOr<CurveKeyPair> ReadCurveSecretKeyFile(const std::string& path);

// The client public keys of an authorised keys file. InvalidArgument (naming file and line) for an unreadable
// file or a malformed line; an empty set is an error too, since it would refuse every client.
StatusOr<std::set<CurveKey>> ReadCurveAuthorizedKeys(const std::string& path);

}  // namespace accel
