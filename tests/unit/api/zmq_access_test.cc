// Access control of the zmq front end: the ZAP decisions (ZmqAccessPolicy) on their own, the CURVE key
// files, and the real ZmqDetectorServer in-process with the CPU engine: an allow-list that leaves out the
// client, CURVE with authorised, unauthorised and plaintext clients, and the refusal counters.
#include "api/zmq_access.h"

#include <gtest/gtest.h>
#include <unistd.h>
#include <zmq.hpp>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>

#include "api/zmq_curve_keys.h"
#include "api/zmq_detector_server.h"
#include "metrics/accel_metrics.h"
#include "protocol_test_core.h"

namespace accel {
namespace {

namespace fs = std::filesystem;

std::string KeyBytes(const CurveKey& key) { return std::string(key.begin(), key.end()); }

CurveKey Decoded(const std::string& z85) {
  auto key = DecodeCurveKey(z85);
  EXPECT_TRUE(key.ok()) << key.status().ToString();
  return key.ok() ? *key : CurveKey{};
}

CurveKeyPair NewPair() {
  auto pair = GenerateCurveKeyPair();
  EXPECT_TRUE(pair.ok()) << pair.status().ToString();
  return pair.ok() ? *pair : CurveKeyPair{};
}

ZmqAccessPolicy AllowOnly(const std::string& list) {
  auto allow = AddressAllowList::Parse(list);
  EXPECT_TRUE(allow.ok());
  return ZmqAccessPolicy(*allow, false, {});
}

TEST(ZmqAccessPolicyTest, NoRuleRestrictsNothing) {
  ZmqAccessPolicy open;
  EXPECT_FALSE(open.restricts());
  EXPECT_TRUE(open.Decide("203.0.113.9", "NULL", {}).accepted());
}

TEST(ZmqAccessPolicyTest, AllowListDecidesByAddress) {
  const ZmqAccessPolicy policy = AllowOnly("192.168.1.0/24,::1");
  EXPECT_TRUE(policy.restricts());
  EXPECT_FALSE(policy.curve());
  EXPECT_TRUE(policy.Decide("192.168.1.20", "NULL", {}).accepted());
  EXPECT_TRUE(policy.Decide("::ffff:192.168.1.20", "NULL", {}).accepted());
  EXPECT_TRUE(policy.Decide("::1", "NULL", {}).accepted());
  const ZapDecision refused = policy.Decide("127.0.0.1", "NULL", {});
  EXPECT_EQ(refused.refusal, ZmqRefusal::kAddress);
  EXPECT_EQ(refused.address, "127.0.0.1");
  EXPECT_NE(refused.why.find("127.0.0.1"), std::string::npos);
  // Without CURVE configured a CURVE (or PLAIN) peer is not what this server speaks.
  EXPECT_EQ(policy.Decide("192.168.1.20", "CURVE", {std::string(32, 'k')}).refusal, ZmqRefusal::kHandshake);
  EXPECT_EQ(policy.Decide("192.168.1.20", "PLAIN", {"user", "pass"}).refusal, ZmqRefusal::kHandshake);
}

TEST(ZmqAccessPolicyTest, CurveDecidesByClientKeyAfterTheAddress) {
  const CurveKeyPair good = NewPair(), other = NewPair();
  auto allow = AddressAllowList::Parse("10.0.0.0/8");
  ASSERT_TRUE(allow.ok());
  const ZmqAccessPolicy policy(*allow, true, {Decoded(good.public_z85)});
  EXPECT_TRUE(policy.curve());
  EXPECT_TRUE(policy.Decide("10.1.2.3", "CURVE", {KeyBytes(Decoded(good.public_z85))}).accepted());
  EXPECT_EQ(policy.Decide("10.1.2.3", "CURVE", {KeyBytes(Decoded(other.public_z85))}).refusal,
            ZmqRefusal::kKey);
  // A client's secret key is not its public key.
  EXPECT_EQ(policy.Decide("10.1.2.3", "CURVE", {KeyBytes(Decoded(good.secret_z85))}).refusal,
            ZmqRefusal::kKey);
  // The address is checked first: the right key from the wrong place is refused as an address.
  EXPECT_EQ(policy.Decide("11.1.2.3", "CURVE", {KeyBytes(Decoded(good.public_z85))}).refusal,
            ZmqRefusal::kAddress);
  EXPECT_EQ(policy.Decide("10.1.2.3", "NULL", {}).refusal, ZmqRefusal::kHandshake);
  EXPECT_EQ(policy.Decide("10.1.2.3", "CURVE", {}).refusal, ZmqRefusal::kHandshake);
  EXPECT_EQ(policy.Decide("10.1.2.3", "CURVE", {"short"}).refusal, ZmqRefusal::kHandshake);
}

TEST(ZmqAccessPolicyTest, ZapRepliesFollowRfc27) {
  const ZmqAccessPolicy policy = AllowOnly("127.0.0.1");
  ZapDecision d;
  auto ok = policy.HandleZapRequest({"1.0", "id-7", "accel", "127.0.0.1", "", "NULL"}, &d);
  EXPECT_TRUE(d.accepted());
  EXPECT_EQ(ok, (std::vector<std::string>{"1.0", "id-7", "200", "OK", "", ""}));

  auto no = policy.HandleZapRequest({"1.0", "id-8", "accel", "10.0.0.1", "", "NULL"}, &d);
  EXPECT_EQ(d.refusal, ZmqRefusal::kAddress);
  ASSERT_EQ(no.size(), 6u);
  EXPECT_EQ(no[1], "id-8");
  EXPECT_EQ(no[2], "400");
  EXPECT_EQ(no[3], d.why);

  // Malformed requests are still answered (a REP socket must), with 500, and count as handshake refusals.
  for (const std::vector<std::string>& bad : std::vector<std::vector<std::string>>{
           {}, {"1.0", "id-9"}, {"2.0", "id-9", "accel", "127.0.0.1", "", "NULL"}}) {
    auto r = policy.HandleZapRequest(bad, &d);
    ASSERT_EQ(r.size(), 6u);
    EXPECT_EQ(r[0], "1.0");
    EXPECT_EQ(r[1], bad.size() > 1 ? bad[1] : "");
    EXPECT_EQ(r[2], "500");
    EXPECT_EQ(d.refusal, ZmqRefusal::kHandshake);
  }
}

// A private temporary directory, removed with its files.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "accel_zmq_access.XXXXXX").string();
    if (mkdtemp(pattern.data())) path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    if (!path_.empty()) fs::remove_all(path_, ignored);
  }
  std::string Write(const std::string& name, const std::string& text) const {
    const std::string path = path_ + "/" + name;
    std::ofstream(path) << text;
    fs::permissions(path, fs::perms::owner_read | fs::perms::owner_write);
    return path;
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

TEST(ZmqCurveKeysTest, SecretKeyFileYieldsTheMatchingPublicKey) {
  ASSERT_TRUE(CurveAvailable()) << "Debian's libzmq5 is built with CURVE";
  TempDir dir;
  const CurveKeyPair pair = NewPair();
  ASSERT_EQ(pair.public_z85.size(), 40u);
  ASSERT_NE(pair.public_z85, pair.secret_z85);
  for (const std::string& text :
       {pair.secret_z85 + "\n", "# comment\n\n  " + pair.secret_z85 + "  # the server's\r\n",
        "public-key " + pair.public_z85 + "\nsecret-key " + pair.secret_z85 + "\n"}) {
    auto read = ReadCurveSecretKeyFile(dir.Write("server.key", text));
    ASSERT_TRUE(read.ok()) << text << ": " << read.status().ToString();
    EXPECT_EQ(read->secret_z85, pair.secret_z85);
    EXPECT_EQ(read->public_z85, pair.public_z85) << "derived with zmq_curve_public";
  }
  EXPECT_FALSE(ReadCurveSecretKeyFile(dir.Write("empty.key", "# nothing\n")).ok());
  EXPECT_FALSE(ReadCurveSecretKeyFile(dir.path() + "/missing.key").ok());
  auto bad = ReadCurveSecretKeyFile(dir.Write("bad.key", "\n" + pair.secret_z85.substr(1) + "\n"));
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find(":2:"), std::string::npos) << bad.status().message();
}

TEST(ZmqCurveKeysTest, AuthorizedKeysFile) {
  TempDir dir;
  const CurveKeyPair a = NewPair(), b = NewPair();
  auto keys =
      ReadCurveAuthorizedKeys(dir.Write("clients", "# Frigate host\n" + a.public_z85 + "\n\n  public-key " +
                                                       b.public_z85 + "  # camera box\n"));
  ASSERT_TRUE(keys.ok()) << keys.status().ToString();
  EXPECT_EQ(*keys, (std::set<CurveKey>{Decoded(a.public_z85), Decoded(b.public_z85)}));

  // '#' is a Z85 character: inside a key it is part of the key; only at the start of a word does it begin
  // a comment (and no key starts with it: the first digit of a 4-byte group is at most the 83rd of 85).
  std::string hash_z85;
  for (int i = 0; i < 200 && hash_z85.empty(); ++i) {
    const CurveKeyPair p = NewPair();
    if (p.public_z85.find('#') != std::string::npos) hash_z85 = p.public_z85;
  }
  ASSERT_FALSE(hash_z85.empty()) << "no key with a '#' in 200 tries (each has about a 30% chance)";
  auto with_hash = ReadCurveAuthorizedKeys(dir.Write("hash", "# comment\n" + hash_z85 + " #trailing\n"));
  ASSERT_TRUE(with_hash.ok()) << with_hash.status().ToString();
  EXPECT_EQ(*with_hash, std::set<CurveKey>{Decoded(hash_z85)});

  struct Bad {
    std::string text;
    std::string says;
  };
  for (const Bad& bad : std::vector<Bad>{{"# only a comment\n", "no key"},
                                         {a.public_z85 + "\nnot-a-key\n", ":2:"},
                                         {a.public_z85 + " " + b.public_z85 + "\n", ":1:"},
                                         {"secret-key " + a.secret_z85 + "\n", "secret key"}}) {
    auto r = ReadCurveAuthorizedKeys(dir.Write("bad", bad.text));
    ASSERT_FALSE(r.ok()) << bad.text;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(r.status().message().find(bad.says), std::string::npos) << r.status().message();
  }
}

// The real server on the CPU engine; the model handshake ({"model_request": true}) is the request, since
// whether a connection is served is what these tests are about.
class ZmqAccessServerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    core_ = new ProtocolTestCore();
    auto engine = MakeTestCpuEngine();
    ASSERT_TRUE(engine.ok()) << engine.status().ToString();
    Status s = core_->Start(std::move(engine).value());
    ASSERT_TRUE(s.ok()) << s.ToString();
  }
  static void TearDownTestSuite() {
    delete core_;
    core_ = nullptr;
  }
  void SetUp() override { ASSERT_NE(core_, nullptr); }
  void TearDown() override {
    if (server_) server_->Stop();
  }

  // Options on an ephemeral loopback port unless `endpoint` says otherwise.
  static ZmqDetectorServer::Options Access(std::string allow, std::string secret_key_file = "",
                                           std::string authorized_keys_file = "",
                                           std::string endpoint = "tcp://127.0.0.1:0") {
    ZmqDetectorServer::Options options;
    options.endpoint = std::move(endpoint);
    options.allow = std::move(allow);
    options.curve_secret_key_file = std::move(secret_key_file);
    options.curve_authorized_keys_file = std::move(authorized_keys_file);
    return options;
  }
  Status StartServer(ZmqDetectorServer::Options options) {
    server_ = std::make_unique<ZmqDetectorServer>(core_->context(), std::move(options));
    return server_->Start();
  }

  // One Frigate-style REQ exchange; "" when no reply came within `wait`.
  std::string Ask(const std::function<void(zmq::socket_t&)>& configure,
                  std::chrono::milliseconds wait = std::chrono::milliseconds(3000)) {
    zmq::socket_t req(client_ctx_, zmq::socket_type::req);
    req.set(zmq::sockopt::linger, 0);
    req.set(zmq::sockopt::rcvtimeo, static_cast<int>(wait.count()));
    if (configure) configure(req);
    req.connect(server_->bound_endpoint());
    const std::string hello = R"({"model_request": true, "model_name": "yolox_nano.onnx"})";
    req.send(zmq::buffer(hello));
    zmq::message_t reply;
    if (!req.recv(reply)) return "";
    return reply.to_string();
  }
  static void Curve(zmq::socket_t& s, const CurveKeyPair& client, const std::string& server_public) {
    s.set(zmq::sockopt::curve_serverkey, server_public);
    s.set(zmq::sockopt::curve_publickey, client.public_z85);
    s.set(zmq::sockopt::curve_secretkey, client.secret_z85);
  }

  static double Refused(const std::string& reason) {
    const std::string text = core_->context().metrics->Render();
    std::smatch m;
    const std::regex line("accel_zmq_refused_connections_total\\{reason=\"" + reason + "\"\\} ([0-9.e+]+)");
    if (!std::regex_search(text, m, line)) return -1;
    return std::stod(m[1]);
  }

  static bool Served(const std::string& reply) {
    if (reply.empty()) return false;
    auto j = nlohmann::json::parse(reply, nullptr, false);
    return j.is_object() && j.value("model_available", false) && j.value("server", "") == "accel";
  }

  static inline ProtocolTestCore* core_ = nullptr;
  zmq::context_t client_ctx_{1};
  std::unique_ptr<ZmqDetectorServer> server_;
};

TEST_F(ZmqAccessServerTest, AllowListLeavingOutTheClientRefusesIt) {
  ASSERT_TRUE(StartServer(Access("10.0.0.0/8,::1")).ok());
  const double before = Refused("address");
  EXPECT_GE(before, 0) << "the refusal counters exist once access control is on";
  EXPECT_EQ(Ask(nullptr, std::chrono::milliseconds(1500)), "")
      << "a peer outside the allow-list was answered";
  EXPECT_GT(Refused("address"), before);
}

TEST_F(ZmqAccessServerTest, AllowListContainingTheClientServesIt) {
  ASSERT_TRUE(StartServer(Access("10.0.0.0/8, 127.0.0.0/8")).ok());
  EXPECT_TRUE(Served(Ask(nullptr)));
}

TEST_F(ZmqAccessServerTest, CurveServesAuthorisedKeysOnly) {
  ASSERT_TRUE(CurveAvailable());
  TempDir dir;
  const CurveKeyPair server = NewPair(), client = NewPair(), stranger = NewPair();
  ASSERT_TRUE(StartServer(Access("", dir.Write("server.key", server.secret_z85 + "\n"),
                                 dir.Write("clients", client.public_z85 + "\n")))
                  .ok());

  EXPECT_TRUE(Served(Ask([&](zmq::socket_t& s) { Curve(s, client, server.public_z85); })));

  const double key_before = Refused("key"), handshake_before = Refused("handshake");
  EXPECT_EQ(
      Ask([&](zmq::socket_t& s) { Curve(s, stranger, server.public_z85); }, std::chrono::milliseconds(1500)),
      "")
      << "an unauthorised key was served";
  EXPECT_GT(Refused("key"), key_before);
  EXPECT_EQ(Ask(nullptr, std::chrono::milliseconds(1500)), "") << "a plaintext client was served";
  EXPECT_GT(Refused("handshake"), handshake_before);
  // A client that has the wrong server key cannot even finish its handshake.
  EXPECT_EQ(
      Ask([&](zmq::socket_t& s) { Curve(s, client, stranger.public_z85); }, std::chrono::milliseconds(1000)),
      "");

  // And the server kept serving the authorised client.
  EXPECT_TRUE(Served(Ask([&](zmq::socket_t& s) { Curve(s, client, server.public_z85); })));
}

TEST_F(ZmqAccessServerTest, CurveAndAllowListTogether) {
  TempDir dir;
  const CurveKeyPair server = NewPair(), client = NewPair();
  ASSERT_TRUE(StartServer(Access("192.0.2.0/24", dir.Write("server.key", server.secret_z85 + "\n"),
                                 dir.Write("clients", client.public_z85 + "\n")))
                  .ok());
  const double before = Refused("address");
  EXPECT_EQ(
      Ask([&](zmq::socket_t& s) { Curve(s, client, server.public_z85); }, std::chrono::milliseconds(1500)),
      "");
  EXPECT_GT(Refused("address"), before);
}

TEST_F(ZmqAccessServerTest, ConfigurationErrorsFailStart) {
  TempDir dir;
  const CurveKeyPair server = NewPair(), client = NewPair();
  const std::string secret = dir.Write("server.key", server.secret_z85 + "\n");
  const std::string clients = dir.Write("clients", client.public_z85 + "\n");
  struct Case {
    const char* what;
    ZmqDetectorServer::Options options;
  };
  std::vector<Case> cases = {
      {"malformed allow-list", Access("10.0.0.0/99")},
      {"allow-list on an ipc endpoint", Access("127.0.0.1", "", "", "ipc://" + dir.path() + "/zmq.sock")},
      {"secret key without authorised keys", Access("", secret)},
      {"authorised keys without secret key", Access("", "", clients)},
      {"unreadable secret key", Access("", dir.path() + "/nope", clients)},
      {"empty authorised keys", Access("", secret, dir.Write("none", "# nobody\n"))},
  };
  for (auto& c : cases) {
    Status s = StartServer(std::move(c.options));
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << c.what << ": " << s.ToString();
    server_.reset();
  }
}

}  // namespace
}  // namespace accel
