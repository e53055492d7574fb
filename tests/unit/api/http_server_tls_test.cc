// What TLS adds to HttpServer (the HTTP behaviour itself runs over TLS in http_server_test.cc): the port
// refuses plaintext, bounds and counts a handshake like a slow header, requires client certificates when a
// client CA is set, and Start() names a bad file. Also LoadTlsCredentials' checks.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "api/http_server.h"
#include "api/tls_credentials.h"
#include "test_client.h"
#include "test_pki.h"

namespace accel {
namespace {

using testing::TestClient;
using testing::TestPki;
using testing::TestTls;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

class HttpServerTlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { pki_ = std::make_unique<TestPki>(); }
  static void TearDownTestSuite() { pki_.reset(); }

  Status StartServer(HttpServer::Options options) {
    options.host = "127.0.0.1";
    options.port = 0;
    options.io_threads = 2;
    server_ = std::make_unique<HttpServer>(options, [](HttpRequest&& request, HttpResponder responder) {
      HttpResponse response;
      response.content_type = "text/plain";
      response.body = "hello " + request.path;
      responder(std::move(response));
    });
    return server_->Start();
  }

  HttpServer::Options TlsOptions(bool client_ca = false) const {
    HttpServer::Options options;
    options.tls = TlsFiles{pki_->server_cert, pki_->server_key_file, client_ca ? pki_->ca_cert : ""};
    return options;
  }

  TestTls ServerOnly() const { return {pki_->ca_cert, "", ""}; }

  // Waits (up to 5 s) until the server holds `n` connections.
  bool WaitForConnections(size_t n) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (server_->connection_count() != n) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return true;
  }

  static std::unique_ptr<TestPki> pki_;
  std::unique_ptr<HttpServer> server_;
};

std::unique_ptr<TestPki> HttpServerTlsTest::pki_;

TEST_F(HttpServerTlsTest, ServesHttpsWithAVerifiedCertificate) {
  ASSERT_TRUE(StartServer(TlsOptions()).ok());
  TestTls tls = ServerOnly();
  TestClient client(server_->port(), &tls);
  auto response = client.Get("/a");
  EXPECT_EQ(response.result_int(), 200);
  EXPECT_EQ(response.body(), "hello /a");
  EXPECT_EQ(client.Get("/b").body(), "hello /b");  // kept alive over the same TLS session
}

TEST_F(HttpServerTlsTest, ClientThatDoesNotTrustTheServerFails) {
  ASSERT_TRUE(StartServer(TlsOptions()).ok());
  // The server's certificate does not chain to this CA: the client's own check fails the handshake.
  TestTls wrong{pki_->other_client_cert, "", ""};
  EXPECT_THROW(TestClient(server_->port(), &wrong), boost::system::system_error);
}

TEST_F(HttpServerTlsTest, ClosingAfterAResponseSendsCloseNotify) {
  ASSERT_TRUE(StartServer(TlsOptions()).ok());
  TestTls tls = ServerOnly();
  TestClient client(server_->port(), &tls);
  boost::beast::http::request<boost::beast::http::string_body> request(boost::beast::http::verb::get, "/last",
                                                                       11);
  request.keep_alive(false);
  EXPECT_EQ(client.Send(request).body(), "hello /last");
  // eof, not stream_truncated: the peer can tell a finished response from a cut connection.
  EXPECT_EQ(client.ReadOneByte(), asio::error::eof);
}

TEST_F(HttpServerTlsTest, PlaintextIsRefusedAndTheServerKeepsServing) {
  ASSERT_TRUE(StartServer(TlsOptions()).ok());
  for (int i = 0; i < 3; ++i) {
    TestClient plain(server_->port());
    bool answered = false;
    try {
      plain.Get("/plain");
      answered = true;
    } catch (const boost::system::system_error&) {
    }
    EXPECT_FALSE(answered) << "a plaintext request on the TLS port got an HTTP answer";
  }
  EXPECT_TRUE(WaitForConnections(0));
  TestTls tls = ServerOnly();
  TestClient client(server_->port(), &tls);
  EXPECT_EQ(client.Get("/after").result_int(), 200);
}

TEST_F(HttpServerTlsTest, SilentPeerIsClosedAfterTheHeaderTimeout) {
  HttpServer::Options options = TlsOptions();
  options.header_timeout = std::chrono::seconds(1);
  ASSERT_TRUE(StartServer(options).ok());
  // Connects and never starts the handshake.
  TestClient silent(server_->port());
  ASSERT_TRUE(WaitForConnections(1));
  auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(silent.ReadsEof(std::chrono::seconds(5)));
  auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_GE(waited, std::chrono::milliseconds(800));
  EXPECT_LT(waited, std::chrono::seconds(4));
  EXPECT_TRUE(WaitForConnections(0));
}

TEST_F(HttpServerTlsTest, HandshakeAndFirstHeaderShareOneDeadline) {
  HttpServer::Options options = TlsOptions();
  options.header_timeout = std::chrono::seconds(2);
  ASSERT_TRUE(StartServer(options).ok());
  // Connects, handshakes only after 1.2 s, then sends nothing: the connection must end header_timeout after
  // the accept (about 2 s in all), not header_timeout after the handshake (3.2 s).
  asio::io_context io;
  asio::ssl::context tls(asio::ssl::context::tls_client);
  tls.load_verify_file(pki_->ca_cert);
  tls.set_verify_mode(asio::ssl::verify_peer);
  boost::beast::ssl_stream<boost::beast::tcp_stream> stream(io, tls);
  auto start = std::chrono::steady_clock::now();
  boost::beast::get_lowest_layer(stream).connect(
      tcp::endpoint(asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(server_->port())));
  std::this_thread::sleep_for(std::chrono::milliseconds(1200));
  stream.handshake(asio::ssl::stream_base::client);
  char byte;
  boost::system::error_code ec;
  stream.read_some(asio::buffer(&byte, 1), ec);
  auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_TRUE(ec == asio::error::eof || ec == asio::ssl::error::stream_truncated ||
              ec == asio::error::connection_reset)
      << ec.message();
  EXPECT_GE(waited, std::chrono::milliseconds(1800));
  EXPECT_LT(waited, std::chrono::milliseconds(2900));
}

TEST_F(HttpServerTlsTest, HandshakesCountAgainstTheConnectionCap) {
  HttpServer::Options options = TlsOptions();
  options.max_connections = 2;
  ASSERT_TRUE(StartServer(options).ok());
  auto silent1 = std::make_unique<TestClient>(server_->port());
  auto silent2 = std::make_unique<TestClient>(server_->port());
  ASSERT_TRUE(WaitForConnections(2));
  TestTls tls = ServerOnly();
  // Over the cap the connection is closed before any handshake.
  EXPECT_THROW(TestClient(server_->port(), &tls), boost::system::system_error);
  silent1.reset();
  silent2.reset();
  ASSERT_TRUE(WaitForConnections(0));
  TestClient client(server_->port(), &tls);
  EXPECT_EQ(client.Get("/ok").result_int(), 200);
}

// Under TLS 1.3 the client finishes its handshake before the server has checked its certificate, so a
// refusal may surface at the handshake or at the first request: either way no answer comes back.
bool GetsAnAnswer(int port, const TestTls& tls) {
  try {
    TestClient client(port, &tls);
    return client.Get("/mtls").result_int() == 200;
  } catch (const boost::system::system_error&) {
    return false;
  }
}

TEST_F(HttpServerTlsTest, ClientCertificateRequiredWithAClientCa) {
  ASSERT_TRUE(StartServer(TlsOptions(/*client_ca=*/true)).ok());
  EXPECT_FALSE(GetsAnAnswer(server_->port(), ServerOnly())) << "no client certificate";
  EXPECT_FALSE(GetsAnAnswer(server_->port(),
                            TestTls{pki_->ca_cert, pki_->other_client_cert, pki_->other_client_key_file}))
      << "a certificate from an unrelated CA";
  EXPECT_TRUE(
      GetsAnAnswer(server_->port(), TestTls{pki_->ca_cert, pki_->client_cert, pki_->client_key_file}));
}

TEST_F(HttpServerTlsTest, WithoutAClientCaAClientCertificateIsNotNeeded) {
  ASSERT_TRUE(StartServer(TlsOptions()).ok());
  EXPECT_TRUE(GetsAnAnswer(server_->port(), ServerOnly()));
  EXPECT_TRUE(
      GetsAnAnswer(server_->port(), TestTls{pki_->ca_cert, pki_->client_cert, pki_->client_key_file}));
}

TEST_F(HttpServerTlsTest, BadFilesFailStartNamingTheFile) {
  auto expect_bad = [&](TlsFiles files, const std::string& named) {
    HttpServer::Options options;
    options.tls = files;
    Status s = StartServer(options);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.ToString();
    EXPECT_NE(s.message().find(named), std::string::npos) << s.ToString();
    EXPECT_EQ(server_->port(), 0);
  };
  const std::string missing = pki_->dir() + "/missing.pem";
  expect_bad({missing, pki_->server_key_file, ""}, missing);
  expect_bad({pki_->server_cert, missing, ""}, missing);
  // The key of another certificate.
  expect_bad({pki_->server_cert, pki_->client_key_file, ""}, pki_->client_key_file);
  // A key where the certificate should be, and the other way round.
  expect_bad({pki_->server_key_file, pki_->server_cert, ""}, pki_->server_key_file);
  const std::string garbage = pki_->WriteText("garbage.pem", "not a PEM file\n");
  expect_bad({pki_->server_cert, pki_->server_key_file, garbage}, garbage);
  expect_bad({pki_->server_cert, "", ""}, "--tls-key");
}

TEST(TlsCredentialsTest, LoadsAndChecksTheFiles) {
  TestPki pki;
  auto ok = LoadTlsCredentials({pki.server_cert, pki.server_key_file, pki.ca_cert});
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_NE(ok->cert_chain_pem.find("BEGIN CERTIFICATE"), std::string::npos);
  EXPECT_NE(ok->private_key_pem.find("PRIVATE KEY"), std::string::npos);
  EXPECT_NE(ok->client_ca_pem.find("BEGIN CERTIFICATE"), std::string::npos);

  // A chain file with the key in it too (one file for both) is fine.
  auto chain = LoadTlsCredentials({pki.server_cert, pki.server_key_file, ""});
  ASSERT_TRUE(chain.ok());
  const std::string combined = pki.WriteText("combined.pem", chain->private_key_pem + chain->cert_chain_pem);
  EXPECT_TRUE(LoadTlsCredentials({combined, combined, ""}).ok());

  // An encrypted key is refused at once (never a passphrase prompt on the terminal).
  const std::string encrypted = pki.encrypted_key_file;
  auto bad = LoadTlsCredentials({pki.server_cert, encrypted, ""});
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find(encrypted), std::string::npos) << bad.status().ToString();

  EXPECT_FALSE(LoadTlsCredentials({"", pki.server_key_file, ""}).ok());
  EXPECT_FALSE(LoadTlsCredentials({"", "", pki.ca_cert}).ok());
}

}  // namespace
}  // namespace accel
