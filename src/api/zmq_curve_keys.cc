#include "api/zmq_curve_keys.h"

#include <sys/stat.h>
#include <zmq.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <vector>

#include "core/logging.h"

namespace accel {
namespace {

constexpr size_t kZ85KeyLength = 40;

// One line of a key file: a blank or comment line leaves *label and *key empty; else *key is the key and
// *label "" or the "public-key"/"secret-key" word before it (`accel keygen --zmq` output). False, with
// *error, for anything else. '#' is a Z85 character, but no key starts with it (the first character of a
// 4-byte group is at most the 83rd of the 85, and '#' is the 85th), so a word that starts with '#' begins a
// comment while a '#' inside a key is part of it.
bool ParseKeyLine(std::string line, std::string* label, std::string* key, std::string* error) {
  label->clear();
  key->clear();
  std::vector<std::string> words;
  for (size_t pos = 0; (pos = line.find_first_not_of(" \t\r", pos)) != std::string::npos;) {
    const auto end = line.find_first_of(" \t\r", pos);
    words.push_back(line.substr(pos, end == std::string::npos ? std::string::npos : end - pos));
    pos = end;
  }
  size_t key_at = 0;
  if (words.empty()) return true;
  if (words[0] == "public-key" || words[0] == "secret-key") {
    *label = words[0];
    key_at = 1;
  } else if (words[0][0] == '#') {
    return true;  // a comment line
  }
  // After the key, only a comment.
  if (key_at >= words.size() || (words.size() > key_at + 1 && words[key_at + 1][0] != '#')) {
    *error =
        "expected one key per line, optionally after 'public-key' or 'secret-key' and before a '#' comment";
    return false;
  }
  *key = words[key_at];
  return true;
}

}  // namespace

bool CurveAvailable() { return zmq_has("curve") == 1; }

Status CurveUnavailableError() {
  return FailedPrecondition(
      "this libzmq was built without CURVE support (zmq_has(\"curve\") is false); install a libzmq5 built "
      "with libsodium, or use --zmq-allow instead");
}

StatusOr<CurveKeyPair> GenerateCurveKeyPair() {
  if (!CurveAvailable()) return CurveUnavailableError();
  char public_key[kZ85KeyLength + 1] = {};
  char secret_key[kZ85KeyLength + 1] = {};
  if (zmq_curve_keypair(public_key, secret_key) != 0)
    return Internal(std::string("zmq_curve_keypair failed: ") + zmq_strerror(zmq_errno()));
  return CurveKeyPair{public_key, secret_key};
}

StatusOr<CurveKey> DecodeCurveKey(std::string_view z85) {
  if (z85.size() != kZ85KeyLength)
    return InvalidArgument("a CURVE key is " + std::to_string(kZ85KeyLength) + " Z85 characters, got " +
                           std::to_string(z85.size()));
  const std::string text(z85);
  CurveKey key{};
  if (zmq_z85_decode(key.data(), text.c_str()) == nullptr)
    return InvalidArgument("not a Z85-encoded CURVE key (a character outside the Z85 alphabet)");
  return key;
}

StatusOr<CurveKeyPair> ReadCurveSecretKeyFile(const std::string& path) {
  if (!CurveAvailable()) return CurveUnavailableError();
  std::ifstream in(path);
  if (!in) return InvalidArgument("cannot read the zmq CURVE secret key file " + path);
  std::string line, label, key, error;
  int line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (!ParseKeyLine(line, &label, &key, &error))
      return InvalidArgument(path + ":" + std::to_string(line_no) + ": " + error);
    if (key.empty() || label == "public-key") continue;
    auto decoded = DecodeCurveKey(key);
    if (!decoded.ok())
      return InvalidArgument(path + ":" + std::to_string(line_no) + ": " + decoded.status().message());
    char public_key[kZ85KeyLength + 1] = {};
    if (zmq_curve_public(public_key, key.c_str()) != 0)
      return InvalidArgument(path + ": cannot derive the public key: " + zmq_strerror(zmq_errno()));
    struct stat st {};
    if (stat(path.c_str(), &st) == 0 && (st.st_mode & (S_IRWXG | S_IRWXO)) != 0)
      ACCEL_LOG(kWarn, "zmq") << "the CURVE secret key file " << path
                              << " is accessible to group or others; chmod 600 it";
    return CurveKeyPair{public_key, key};
  }
  return InvalidArgument("the zmq CURVE secret key file " + path + " holds no key");
}

StatusOr<std::set<CurveKey>> ReadCurveAuthorizedKeys(const std::string& path) {
  std::ifstream in(path);
  if (!in) return InvalidArgument("cannot read the zmq CURVE authorised keys file " + path);
  std::set<CurveKey> keys;
  std::string line, label, key, error;
  int line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (!ParseKeyLine(line, &label, &key, &error))
      return InvalidArgument(path + ":" + std::to_string(line_no) + ": " + error);
    if (key.empty()) continue;
    if (label == "secret-key")
      return InvalidArgument(path + ":" + std::to_string(line_no) +
                             ": a secret key; the authorised keys file takes public keys only");
    auto decoded = DecodeCurveKey(key);
    if (!decoded.ok())
      return InvalidArgument(path + ":" + std::to_string(line_no) + ": " + decoded.status().message());
    keys.insert(*decoded);
  }
  if (keys.empty())
    return InvalidArgument("the zmq CURVE authorised keys file " + path +
                           " holds no key: every client would be refused");
  return keys;
}

}  // namespace accel
